"""parse_render_request: the contract every trigger shares, case by case."""

from __future__ import annotations

import copy
import dataclasses
import json
import pathlib
from http import HTTPStatus
from typing import Any

import pytest

from eerender.config import Settings
from eerender.errors import Forbidden, InvalidRequest
from eerender.request import ACCEPTED_FIELDS, RenderRequest, parse_render_request

EXPRESSIONS = json.loads(
    (pathlib.Path(__file__).parents[1] / "data" / "expressions.json").read_text()
)
SETTINGS = Settings(
    ee_project="p",
    render_bucket="renders-bucket",
    allowed_buckets=frozenset({"renders-bucket", "shared-bucket"}),
)
BAY_AREA = [-122.5, 37.6, -122.3, 37.8]


def render(settings: Settings = SETTINGS, **fields: Any) -> RenderRequest:
    request = {"expression": EXPRESSIONS["srtm"], **fields}
    return parse_render_request(request, settings)


def rejection(settings: Settings = SETTINGS, **fields: Any) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        render(settings, **fields)
    return caught.value


def top_call(request: RenderRequest) -> dict[str, Any]:
    body = request.thumbnail_body()
    node: dict[str, Any] = body["expression"]["values"]["0"]["functionInvocationValue"]
    return node


def test_minimal_request_defaults() -> None:
    request = render(region=BAY_AREA)

    assert request.file_format == "AUTO_JPEG_PNG"
    assert request.delivery == "redirect"
    assert request.signed_url is False
    assert request.destination_bucket is None
    assert request.defaults_applied == {"dimensions": 1024}
    assert top_call(request)["arguments"]["maxDimension"] == {"constantValue": 1024}
    assert request.thumbnail_body()["bandIds"] == []
    assert request.thumbnail_body()["filenamePrefix"] is None


def test_non_object_rejected() -> None:
    for data in ([1, 2], "expression", 5, None):
        with pytest.raises(InvalidRequest) as caught:
            parse_render_request(data, SETTINGS)
        assert caught.value.field == ""
        assert "must be a JSON object" in caught.value.message


def test_unknown_field_lists_accepted() -> None:
    error = rejection(dimension=512)

    assert error.field == "/dimension"
    assert "dimension" in error.message
    assert all(name in error.message for name in ACCEPTED_FIELDS)


def test_missing_expression_rejected() -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_render_request({"region": BAY_AREA}, SETTINGS)

    assert caught.value.code == "INVALID_EXPRESSION"
    assert caught.value.field == "/expression"


def test_expression_errors_point_into_request() -> None:
    broken = copy.deepcopy(EXPRESSIONS["landsat_rgb"])
    del broken["values"]["1"]

    with pytest.raises(InvalidRequest) as caught:
        parse_render_request({"expression": broken}, SETTINGS)

    assert caught.value.field == (
        "/expression/values/0/functionInvocationValue/arguments/input/valueReference"
    )


def test_expression_limits_from_settings() -> None:
    small = Settings(ee_project="p", max_nodes=2)

    with pytest.raises(InvalidRequest) as caught:
        parse_render_request({"expression": EXPRESSIONS["landsat_rgb"]}, small)

    assert caught.value.code == "EXPRESSION_TOO_LARGE"
    assert caught.value.limit == 2


def test_whole_scene_over_byte_limit() -> None:
    error = rejection(
        expression=EXPRESSIONS["landsat_rgb"],
        min=0,
        max=0.3,
        region=[-123.2, 36.7, -120.6, 38.6],
        crs="EPSG:4326",
        scale=30,
        format="png",
        delivery="store",
    )

    assert error.code == "REQUEST_TOO_LARGE"
    assert error.field == "/scale"
    assert error.limit == 48 * 1024 * 1024
    assert "9648 x 7050 pixels x 3 band(s)" in error.message
    assert '"dimensions": ' in error.message


def test_old_byte_limit_configurable() -> None:
    old_limit = Settings(ee_project="p", max_output_bytes=32 * 1024 * 1024)
    fields = {"region": [0, 0, 1, 1], "dimensions": 4000, "min": 0, "max": 1}

    render(**fields)
    with pytest.raises(InvalidRequest) as caught:
        render(old_limit, **fields)

    assert caught.value.limit == 33554432


def test_missing_size_gets_default() -> None:
    request = render(
        expression=EXPRESSIONS["landsat_rgb"],
        min=0,
        max=0.3,
        region=[-123.2, 36.7, -120.6, 38.6],
        crs="EPSG:4326",
        format="png",
    )

    estimate = request.output_estimate()
    assert request.defaults_applied == {"dimensions": 1024}
    assert estimate is not None
    assert (estimate.width, estimate.height) == (1024, 748)
    assert estimate.bytes == 1024 * 748 * 3


def test_default_dimensions_from_settings() -> None:
    request = render(Settings(ee_project="p", default_dimensions=256))

    assert request.defaults_applied == {"dimensions": 256}


def test_global_native_resolution_over_grid_limit() -> None:
    error = rejection(
        min=0, max=4000, region=[-180, -60, 180, 60], scale=30, format="png"
    )

    assert error.code == "DIMENSIONS_TOO_LARGE"
    assert error.field == "/scale"
    assert error.limit == 32768
    assert "1335834 x 445278" in error.message


def test_explicit_dimensions_over_grid_limit() -> None:
    old_side = Settings(ee_project="p", max_grid_side=10000)

    error = rejection(old_side, region=[-180, -60, 180, 60], dimensions="20000x8000")

    assert error.code == "DIMENSIONS_TOO_LARGE"
    assert error.field == "/dimensions"
    assert error.limit == 10000
    assert "20000" in error.message


BAND_CASES: list[tuple[str, str, dict[str, Any], str, str]] = [
    (
        "palette_on_three_bands",
        "landsat_rgb",
        {"min": 0, "max": 0.3, "palette": ["000000", "ffffff"], "format": "png"},
        "PALETTE_NEEDS_SINGLE_BAND",
        "/palette",
    ),
    (
        "two_bands_png",
        "landsat_two_bands",
        {"min": 0, "max": 0.3, "format": "png"},
        "INVALID_BAND_COUNT",
        "/expression",
    ),
    (
        "four_bands_jpg",
        "landsat_four_bands",
        {"min": 0, "max": 0.3, "format": "jpg"},
        "INVALID_BAND_COUNT",
        "/expression",
    ),
    (
        "four_bands_unvisualized_png",
        "landsat_four_bands",
        {"format": "png"},
        "INVALID_BAND_COUNT",
        "/bandIds",
    ),
    (
        "band_ids_two_for_jpeg",
        "srtm",
        {"bandIds": ["a", "b"], "format": "jpeg"},
        "INVALID_BAND_COUNT",
        "/bandIds",
    ),
    (
        "palette_with_three_named_bands",
        "srtm",
        {"bands": ["a", "b", "c"], "palette": "red,blue"},
        "PALETTE_NEEDS_SINGLE_BAND",
        "/palette",
    ),
    (
        "palette_colors_with_band_ids",
        "srtm",
        {
            "bandIds": ["a", "b", "c"],
            "visualizationOptions": {"paletteColors": ["red", "blue"]},
        },
        "PALETTE_NEEDS_SINGLE_BAND",
        "/visualizationOptions/paletteColors",
    ),
    (
        "ranges_for_bands",
        "srtm",
        {
            "bandIds": ["a", "b", "c"],
            "visualizationOptions": {"ranges": [{"min": 0, "max": 1}] * 2},
        },
        "INVALID_VISUALIZATION",
        "/visualizationOptions/ranges",
    ),
]


@pytest.mark.parametrize(
    ("expression", "fields", "code", "field"),
    [case[1:] for case in BAND_CASES],
    ids=[case[0] for case in BAND_CASES],
)
def test_band_counts_checked(
    expression: str, fields: dict[str, Any], code: str, field: str
) -> None:
    error = rejection(
        expression=EXPRESSIONS[expression], region=BAY_AREA, dimensions=256, **fields
    )

    assert error.code == code
    assert error.field == field


def test_band_count_message_names_bands() -> None:
    error = rejection(
        expression=EXPRESSIONS["landsat_rgb"], palette=["000000", "ffffff"], min=0
    )

    assert "3 bands" in error.message


def test_too_many_band_ids() -> None:
    error = rejection(bandIds=[f"b{index}" for index in range(1025)], format="GEO_TIFF")

    assert error.code == "TOO_MANY_BANDS"
    assert error.field == "/bandIds"


def test_geotiff_takes_any_band_count() -> None:
    request = render(
        expression=EXPRESSIONS["landsat_four_bands"],
        region=BAY_AREA,
        scale=30,
        format="geotiff",
    )

    estimate = request.output_estimate()
    assert request.file_format == "GEO_TIFF"
    assert estimate is not None
    assert estimate.bands == 4
    assert estimate.bytes_per_band is None


@pytest.mark.parametrize(
    "palette",
    [{"0": "red"}, [1, 2], [["red", "blue"]], [], "notacolour"],
    ids=["dict", "numbers", "nested", "empty", "unknown"],
)
def test_palette_type_rejected(palette: Any) -> None:
    error = rejection(min=0, max=4000, palette=palette)

    assert error.code == "INVALID_PALETTE"
    assert error.field.startswith("/palette")


REGION_CASES: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "west_over_east",
        {"region": [170, -20, -170, -10]},
        "REGION_CROSSES_ANTIMERIDIAN",
        "/region",
    ),
    (
        "mercator_pole",
        {"region": [-10, 80, 10, 89.9], "crs": "EPSG:3857"},
        "REGION_OUTSIDE_PROJECTION",
        "/region",
    ),
    (
        "too_complex",
        {"region": [[index / 100, 0.0] for index in range(10_001)]},
        "REGION_TOO_COMPLEX",
        "/region",
    ),
]


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [case[1:] for case in REGION_CASES],
    ids=[case[0] for case in REGION_CASES],
)
def test_region_rejections(fields: dict[str, Any], code: str, field: str) -> None:
    error = rejection(dimensions=512, **fields)

    assert error.code == code
    assert error.field == field


def test_polygon_beyond_180_accepted() -> None:
    ring = [[170, -20], [190, -20], [190, -10], [170, -10], [170, -20]]

    request = render(dimensions=512, region={"type": "Polygon", "coordinates": [ring]})

    geometry = top_call(request)["arguments"]["geometry"]["functionInvocationValue"]
    assert geometry["arguments"]["geodesic"] == {"constantValue": False}


def test_region_vertex_limit_follows_settings() -> None:
    settings = dataclasses.replace(Settings(ee_project="p"), max_region_vertices=4)

    with pytest.raises(InvalidRequest) as caught:
        parse_render_request(
            {
                "expression": EXPRESSIONS["srtm"],
                "region": [[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]],
            },
            settings,
        )

    assert caught.value.code == "REGION_TOO_COMPLEX"


NUMBER_CASES: list[tuple[str, dict[str, Any], str, str]] = [
    ("nan_scale", {"scale": float("nan")}, "/scale", "NaN"),
    ("infinite_scale", {"scale": float("inf")}, "/scale", "inf"),
    ("boolean_scale", {"scale": True}, "/scale", "True"),
    ("text_scale", {"scale": "30"}, "/scale", "'30'"),
    ("zero_scale", {"scale": 0}, "/scale", "0"),
    ("negative_dimensions", {"dimensions": -5}, "/dimensions", "-5"),
    ("zero_width", {"dimensions": [0, 10]}, "/dimensions/0", "0"),
    ("fraction_dimensions", {"dimensions": 10.5}, "/dimensions", "10.5"),
    ("boolean_dimensions", {"dimensions": True}, "/dimensions", "True"),
    ("bad_dimensions_text", {"dimensions": "big"}, "/dimensions", "'big'"),
    ("three_dimensions", {"dimensions": [1, 2, 3]}, "/dimensions", "[1, 2, 3]"),
    ("nan_min", {"min": float("nan")}, "/min", "nan"),
    (
        "short_transform",
        {"crs": "EPSG:4326", "crs_transform": [1, 0, 0]},
        "/crs_transform",
        "[1, 0, 0]",
    ),
]


@pytest.mark.parametrize(
    ("fields", "field", "named"),
    [case[1:] for case in NUMBER_CASES],
    ids=[case[0] for case in NUMBER_CASES],
)
def test_numbers_rejected(fields: dict[str, Any], field: str, named: str) -> None:
    error = rejection(**fields)

    assert error.field == field
    assert named in error.message


CONFLICTS: list[tuple[str, dict[str, Any], str]] = [
    ("dimensions_and_scale", {"dimensions": 512, "scale": 30}, "/scale"),
    ("two_format_names", {"format": "png", "fileFormat": "PNG"}, "/fileFormat"),
    (
        "two_transform_names",
        {
            "crs": "EPSG:4326",
            "crs_transform": [1, 0, 0, 0, -1, 0],
            "crsTransform": [1, 0, 0, 0, -1, 0],
        },
        "/crsTransform",
    ),
    ("transform_without_crs", {"crs_transform": [1, 0, 0, 0, -1, 0]}, "/crs_transform"),
    (
        "grid_and_dimensions",
        {"grid": {"crsCode": "EPSG:4326"}, "dimensions": 5},
        "/dimensions",
    ),
    (
        "options_and_parameters",
        {"visualizationOptions": {"gamma": 1}, "min": 0},
        "/visualizationOptions",
    ),
    ("band_ids_and_parameters", {"bandIds": ["a"], "bands": ["a"]}, "/bandIds"),
    (
        "destination_for_redirect",
        {"destination": {"bucket": "renders-bucket"}},
        "/destination",
    ),
    ("signed_url_for_redirect", {"signedUrl": True}, "/signedUrl"),
    ("unknown_delivery", {"delivery": "email"}, "/delivery"),
]


@pytest.mark.parametrize(
    ("fields", "field"),
    [case[1:] for case in CONFLICTS],
    ids=[case[0] for case in CONFLICTS],
)
def test_conflicting_fields_rejected(fields: dict[str, Any], field: str) -> None:
    error = rejection(**fields)

    assert error.field == field


def test_null_fields_mean_absent() -> None:
    request = render(palette=None, scale=None, region=BAY_AREA, delivery=None)

    assert request.visualization is None
    assert request.delivery == "redirect"


def test_store_delivery_fields() -> None:
    request = render(
        delivery="store",
        destination={"bucket": "shared-bucket", "object": "renders/srtm.png"},
        signedUrl=True,
        format="png",
    )

    assert request.delivery == "store"
    assert request.destination_bucket == "shared-bucket"
    assert request.destination_object == "renders/srtm.png"
    assert request.signed_url is True
    assert request.content_type == "image/png"
    assert request.file_extension == "png"


def test_store_without_destination() -> None:
    request = render(delivery="store")

    assert request.destination_bucket is None
    assert request.destination_object is None


def test_unlisted_bucket_forbidden() -> None:
    with pytest.raises(Forbidden) as caught:
        render(delivery="store", destination={"bucket": "someone-elses-bucket"})

    assert caught.value.code == "BUCKET_NOT_ALLOWED"
    assert caught.value.http_status == HTTPStatus.FORBIDDEN
    assert caught.value.field == "/destination/bucket"
    assert "someone-elses-bucket" in caught.value.message


def test_rest_fields_sent_as_given() -> None:
    request = render(
        fileFormat="ZIPPED_GEO_TIFF",
        bandIds=["elevation"],
        visualizationOptions={
            "ranges": [{"min": 0, "max": 4000}],
            "paletteColors": "red,blue",
        },
        grid={
            "dimensions": {"width": 64, "height": 32},
            "affineTransform": {
                "scaleX": 0.01,
                "scaleY": -0.01,
                "translateX": 6,
                "translateY": 47,
            },
            "crsCode": "EPSG:4326",
        },
        filenamePrefix="srtm",
    )

    body = request.thumbnail_body()
    assert body["fileFormat"] == "ZIPPED_GEO_TIFF"
    assert body["bandIds"] == ["elevation"]
    assert body["visualizationOptions"]["paletteColors"] == ["ff0000", "0000ff"]
    assert body["grid"]["dimensions"] == {"width": 64, "height": 32}
    assert body["filenamePrefix"] == "srtm"
    assert body["expression"] == EXPRESSIONS["srtm"]
    assert request.defaults_applied == {}
    estimate = request.output_estimate()
    assert estimate is not None
    assert (estimate.width, estimate.height, estimate.bands) == (64, 32, 3)


def test_grid_with_region_clips() -> None:
    request = render(region=BAY_AREA, grid={"crsCode": "EPSG:4326"})

    assert top_call(request)["functionName"] == "Image.clip"


def test_body_is_a_fresh_copy() -> None:
    request = render(region=BAY_AREA)

    request.thumbnail_body()["fileFormat"] = "PNG"

    assert request.thumbnail_body()["fileFormat"] == "AUTO_JPEG_PNG"


def _reordered(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _reordered(value[key]) for key in reversed(list(value))}
    if isinstance(value, list):
        return [_reordered(item) for item in value]
    return value


HASH_BASE = {
    "region": BAY_AREA,
    "min": 0,
    "max": 4000,
    "palette": ["ff0000", "0000ff"],
    "format": "png",
}


@pytest.mark.parametrize(
    "variant",
    [
        {"palette": "red, #00F"},
        {"palette": ["#FF0000", "blue"]},
        {"dimensions": 1024},
        {"dimensions": [1024]},
        {"dimensions": "1024"},
        {"delivery": "store", "signedUrl": True},
        {"delivery": "store", "destination": {"object": "a/b.png"}},
    ],
)
def test_request_hash_stable(variant: dict[str, Any]) -> None:
    base = render(**HASH_BASE)

    assert render(**{**HASH_BASE, **variant}).request_hash() == base.request_hash()


def test_request_hash_ignores_key_order_and_names() -> None:
    renamed = {
        "result": "top",
        "values": {
            "top": EXPRESSIONS["landsat_rgb"]["values"]["0"],
            "1": EXPRESSIONS["landsat_rgb"]["values"]["1"],
        },
    }
    base = render(expression=EXPRESSIONS["landsat_rgb"], region=BAY_AREA, dimensions=64)

    shuffled = parse_render_request(
        _reordered({"dimensions": 64, "region": BAY_AREA, "expression": renamed}),
        SETTINGS,
    )

    assert shuffled.request_hash() == base.request_hash()
    assert shuffled.expression_hash() == base.expression_hash()


@pytest.mark.parametrize(
    "variant",
    [
        {"format": "jpg"},
        {"dimensions": 512},
        {"palette": ["ff0000", "00ff00"]},
        {"region": [-122.5, 37.6, -122.3, 37.9]},
        {"crs": "EPSG:3857"},
    ],
)
def test_request_hash_changes_with_pixels(variant: dict[str, Any]) -> None:
    base = render(**HASH_BASE)

    assert render(**{**HASH_BASE, **variant}).request_hash() != base.request_hash()


def test_expression_hash_ignores_framing() -> None:
    first = render(region=BAY_AREA)
    second = render(dimensions=64, palette="red")

    assert first.expression_hash() == second.expression_hash()
    assert len(first.request_hash()) == 64
    assert first.expression == EXPRESSIONS["srtm"]


def test_store_without_format_defaults_to_png() -> None:
    stored = render(**{**HASH_BASE, "format": None, "delivery": "store"})
    redirected = render(**{**HASH_BASE, "format": None})

    assert stored.file_format == "PNG"
    assert stored.defaults_applied["format"] == "PNG"
    assert redirected.file_format == "AUTO_JPEG_PNG"
