"""Region forms, bounds and the geometry traps: antimeridian, Web Mercator, size."""

from __future__ import annotations

import json
from typing import Any

import pytest

from eerender.errors import InvalidRequest
from eerender.region import Region, parse_region

SQUARE = [[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]


def region(raw: Any, **options: Any) -> Region:
    return parse_region(raw, "/region", **options)


def rejection(raw: Any, **options: Any) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        region(raw, **options)
    return caught.value


@pytest.mark.parametrize(
    ("raw", "kind", "bounds"),
    [
        ([-122.5, 37.6, -122.3, 37.8], "bbox", (-122.5, 37.6, -122.3, 37.8)),
        ([[-122.5, 37.6], [-122.3, 37.8]], "bbox", (-122.5, 37.6, -122.3, 37.8)),
        ("[-122.5, 37.6, -122.3, 37.8]", "bbox", (-122.5, 37.6, -122.3, 37.8)),
        (SQUARE, "Polygon", (0, 0, 1, 1)),
        ([SQUARE], "Polygon", (0, 0, 1, 1)),
        ({"type": "Polygon", "coordinates": [SQUARE]}, "Polygon", (0, 0, 1, 1)),
        (
            {
                "type": "MultiPolygon",
                "coordinates": [[SQUARE], [[[5, 5], [6, 5], [6, 6]]]],
            },
            "MultiPolygon",
            (0, 0, 6, 6),
        ),
        (
            {
                "type": "Feature",
                "properties": {},
                "geometry": {"type": "Polygon", "coordinates": [SQUARE]},
            },
            "Polygon",
            (0, 0, 1, 1),
        ),
        (
            json.dumps({"type": "Polygon", "coordinates": [SQUARE]}),
            "Polygon",
            (0, 0, 1, 1),
        ),
        ([170, -20, 190, -10], "bbox", (170, -20, 190, -10)),
        (
            {
                "type": "Polygon",
                "coordinates": [
                    [[170, -20], [190, -20], [190, -10], [170, -10], [170, -20]]
                ],
            },
            "Polygon",
            (170, -20, 190, -10),
        ),
    ],
)
def test_region_forms_accepted(raw: Any, kind: str, bounds: tuple[float, ...]) -> None:
    checked = region(raw)

    assert checked.kind == kind
    assert (checked.west, checked.south, checked.east, checked.north) == bounds


def test_region_geometry_is_planar() -> None:
    geometry = region([0, 0, 1, 1]).geometry()

    assert geometry.function_name == "GeometryConstructors.Rectangle"
    assert geometry.arguments == {"coordinates": [0, 0, 1, 1], "geodesic": False}


def test_feature_geometry_sent_alone() -> None:
    feature = {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [SQUARE]},
    }

    geometry = region(feature).geometry()

    assert geometry.function_name == "GeometryConstructors.Polygon"
    assert geometry.arguments["coordinates"] == [SQUARE]


REJECTED: list[tuple[str, Any, dict[str, Any], str, str, str]] = [
    (
        "bbox_west_over_east",
        [170, -20, -170, -10],
        {},
        "REGION_CROSSES_ANTIMERIDIAN",
        "/region",
        "[170, -20, 190, -10]",
    ),
    (
        "polygon_jumps_meridian",
        {
            "type": "Polygon",
            "coordinates": [[[170, -20], [-170, -20], [-170, -10], [170, -10]]],
        },
        {},
        "REGION_CROSSES_ANTIMERIDIAN",
        "/region/coordinates/0/1",
        "-170",
    ),
    (
        "mercator_pole",
        [-10, 80, 10, 89.9],
        {"crs": "EPSG:3857"},
        "REGION_OUTSIDE_PROJECTION",
        "/region",
        "89.9",
    ),
    ("latitude_over_90", [0, 0, 1, 91], {}, "INVALID_REGION", "/region/3", "91"),
    (
        "swapped_point",
        [[10, 100], [11, 0], [12, 1]],
        {},
        "INVALID_REGION",
        "/region/0/1",
        "100",
    ),
    ("longitude_far", [0, 0, 400, 1], {}, "INVALID_REGION", "/region/2", "400"),
    ("south_over_north", [0, 5, 1, 1], {}, "INVALID_REGION", "/region", "[0, 5, 1, 1]"),
    ("zero_width", [3, 0, 3, 1], {}, "INVALID_REGION", "/region", "no area"),
    ("nan", [0, 0, float("nan"), 1], {}, "INVALID_REGION", "/region/2", "nan"),
    ("boolean", [0, 0, True, 1], {}, "INVALID_REGION", "/region/2", "True"),
    ("three_numbers", [0, 0, 1], {}, "INVALID_REGION", "/region/0", "0"),
    (
        "point_type",
        {"type": "Point", "coordinates": [0, 0]},
        {},
        "INVALID_REGION",
        "/region/type",
        "'Point'",
    ),
    (
        "feature_collection",
        {"type": "FeatureCollection", "features": []},
        {},
        "INVALID_REGION",
        "/region/type",
        "table asset",
    ),
    (
        "crs_member",
        {"type": "Polygon", "coordinates": [SQUARE], "crs": {"type": "name"}},
        {},
        "INVALID_REGION",
        "/region/crs",
        "EPSG:4326",
    ),
    (
        "two_point_ring",
        [[[0, 0], [1, 1]]],
        {},
        "INVALID_REGION",
        "/region/0",
        "2 point(s)",
    ),
    ("not_json", "west,south", {}, "INVALID_REGION", "/region", "'west,south'"),
    ("number", 5, {}, "INVALID_REGION", "/region", "int"),
    (
        "too_many_vertices",
        [[index / 1000, 0.0] for index in range(10_001)],
        {},
        "REGION_TOO_COMPLEX",
        "/region",
        "table asset",
    ),
    (
        "too_many_vertices_configured",
        {"type": "MultiPolygon", "coordinates": [[SQUARE], [SQUARE]]},
        {"max_vertices": 8},
        "REGION_TOO_COMPLEX",
        "/region/coordinates/1/0",
        "5 points",
    ),
]


@pytest.mark.parametrize(
    ("raw", "options", "code", "field", "named"),
    [case[1:] for case in REJECTED],
    ids=[case[0] for case in REJECTED],
)
def test_region_rejected(
    raw: Any, options: dict[str, Any], code: str, field: str, named: str
) -> None:
    error = rejection(raw, **options)

    assert error.code == code
    assert error.field == field
    assert named in error.message or named in str(error.value)


def test_antimeridian_message_tells_the_fix() -> None:
    error = rejection([170, -20, -170, -10])

    assert "longitudes beyond 180" in error.message


def test_mercator_limit_allows_edge() -> None:
    checked = region([-10, -85.05, 10, 85.05], crs="EPSG:3857")

    assert checked.north == 85.05
