"""File formats, visualization parameters, REST fields and the framed image."""

from __future__ import annotations

from typing import Any

import pytest

from eerender.errors import InvalidRequest
from eerender.expression import Invocation, invoke
from eerender.region import parse_region
from eerender.serializer import encode_expression
from eerender.sizing import GridRequest
from eerender.thumbnail import (
    frame_image,
    parse_file_format,
    parse_grid,
    parse_visualization,
    parse_visualization_options,
)


@pytest.mark.parametrize(
    ("spelling", "name", "content_type", "extension"),
    [
        (None, "AUTO_JPEG_PNG", "application/octet-stream", "bin"),
        ("png", "PNG", "image/png", "png"),
        ("jpg", "JPEG", "image/jpeg", "jpg"),
        ("jpeg", "JPEG", "image/jpeg", "jpg"),
        ("auto", "AUTO_JPEG_PNG", "application/octet-stream", "bin"),
        ("geotiff", "GEO_TIFF", "image/tiff", "tif"),
        ("GEO_TIFF", "GEO_TIFF", "image/tiff", "tif"),
        ("npy", "NPY", "application/octet-stream", "npy"),
        ("numpy", "NPY", "application/octet-stream", "npy"),
        ("zipped_geo_tiff", "ZIPPED_GEO_TIFF", "application/zip", "zip"),
        (
            "ZIPPED_GEO_TIFF_PER_BAND",
            "ZIPPED_GEO_TIFF_PER_BAND",
            "application/zip",
            "zip",
        ),
    ],
)
def test_file_format_spellings(
    spelling: str | None, name: str, content_type: str, extension: str
) -> None:
    file_format = parse_file_format(spelling, "/format")

    assert file_format.name == name
    assert file_format.content_type == content_type
    assert file_format.extension == extension


@pytest.mark.parametrize(
    ("spelling", "named"),
    [
        ("tfrecord", "only available for Earth Engine exports"),
        ("TF_RECORD_IMAGE", "only available for Earth Engine exports"),
        ("webp", "'webp'"),
        ("MULTI_BAND_IMAGE_TILE", "'MULTI_BAND_IMAGE_TILE'"),
        (5, "5"),
    ],
)
def test_file_format_rejected(spelling: Any, named: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_file_format(spelling, "/format")

    assert caught.value.code == "INVALID_FORMAT"
    assert caught.value.field == "/format"
    assert named in caught.value.message


def test_visualization_kept_as_sent() -> None:
    request = {
        "bands": "B4,B3,B2",
        "min": "0,0,0",
        "max": [0.3, 0.3, 0.3],
        "gamma": 1.2,
    }

    visualization = parse_visualization(request)

    assert visualization is not None
    assert visualization.arguments == request
    assert visualization.band_count == 3


def test_visualization_absent() -> None:
    assert parse_visualization({"region": [0, 0, 1, 1]}) is None


VISUALIZATION_REJECTED: list[tuple[str, dict[str, Any], str, str, str]] = [
    ("two_bands", {"bands": ["B4", "B3"]}, "INVALID_BAND_COUNT", "/bands", "2 bands"),
    ("empty_band", {"bands": ["B4", ""]}, "INVALID_VISUALIZATION", "/bands", "'B4'"),
    ("bands_number", {"bands": 3}, "INVALID_VISUALIZATION", "/bands", "3"),
    (
        "min_count",
        {"bands": ["a", "b", "c"], "min": [0, 0]},
        "INVALID_VISUALIZATION",
        "/min",
        "[0, 0]",
    ),
    ("max_csv_text", {"max": "1,x"}, "INVALID_REQUEST", "/max", "'x'"),
    ("gamma_nan", {"gamma": float("nan")}, "INVALID_VISUALIZATION", "/gamma", "nan"),
    ("min_boolean", {"min": True}, "INVALID_VISUALIZATION", "/min", "True"),
    (
        "gain_and_min",
        {"min": 0, "gain": 2},
        "INVALID_VISUALIZATION",
        "/gain",
        "min/max and gain/bias",
    ),
    ("opacity_range", {"opacity": 1.5}, "INVALID_VISUALIZATION", "/opacity", "1.5"),
    (
        "force_text",
        {"forceRgbOutput": "yes"},
        "INVALID_REQUEST",
        "/forceRgbOutput",
        "'yes'",
    ),
    ("palette_dict", {"palette": {"0": "red"}}, "INVALID_PALETTE", "/palette", "dict"),
]


@pytest.mark.parametrize(
    ("request_data", "code", "field", "named"),
    [case[1:] for case in VISUALIZATION_REJECTED],
    ids=[case[0] for case in VISUALIZATION_REJECTED],
)
def test_visualization_rejected(
    request_data: dict[str, Any], code: str, field: str, named: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_visualization(request_data)

    assert caught.value.code == code
    assert caught.value.field == field
    assert named in caught.value.message


def test_visualization_options_normalised() -> None:
    options = parse_visualization_options(
        {
            "ranges": [{"min": 0, "max": 3000}],
            "paletteColors": ["Red", "#00F"],
            "gamma": {"value": 1.4},
            "opacity": 0.5,
        },
        "/visualizationOptions",
    )

    assert options == {
        "ranges": [{"min": 0, "max": 3000}],
        "paletteColors": ["ff0000", "0000ff"],
        "gamma": 1.4,
        "opacity": 0.5,
    }


@pytest.mark.parametrize(
    ("options", "field", "named"),
    [
        ({"ranges": []}, "/visualizationOptions/ranges", "[]"),
        ({"ranges": [{"min": 0}]}, "/visualizationOptions/ranges/0/max", "None"),
        (
            {"ranges": [{"min": 0, "max": 1, "mid": 2}]},
            "/visualizationOptions/ranges/0/mid",
            "mid",
        ),
        ({"gamma": -1}, "/visualizationOptions/gamma", "-1"),
        ({"paletteColors": []}, "/visualizationOptions/paletteColors", "empty"),
        ({"palette": ["red"]}, "/visualizationOptions/palette", "palette"),
    ],
)
def test_visualization_options_rejected(
    options: dict[str, Any], field: str, named: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_visualization_options(options, "/visualizationOptions")

    assert caught.value.field == field
    assert named in caught.value.message


def test_grid_checked() -> None:
    grid = parse_grid(
        {
            "dimensions": {"width": 256, "height": 128},
            "affineTransform": {
                "scaleX": 30,
                "translateX": 500000,
                "scaleY": -30,
                "translateY": 4200000,
            },
            "crsCode": "EPSG:32610",
        },
        "/grid",
    )

    assert (grid.width, grid.height) == (256, 128)
    assert grid.body["crsCode"] == "EPSG:32610"
    assert grid.body["affineTransform"]["scaleY"] == -30


@pytest.mark.parametrize(
    ("grid", "field", "named"),
    [
        (
            {"crsCode": "EPSG:4326", "crsWkt": "GEOGCS[...]"},
            "/grid",
            "exactly one of crsCode",
        ),
        ({}, "/grid", "exactly one of crsCode"),
        (
            {"crsCode": "EPSG:4326", "dimensions": {"width": 0, "height": 5}},
            "/grid/dimensions/width",
            "0",
        ),
        (
            {"crsCode": "EPSG:4326", "dimensions": {"width": 2.5, "height": 5}},
            "/grid/dimensions/width",
            "2.5",
        ),
        (
            {"crsCode": "EPSG:4326", "affineTransform": {"scaleX": 0, "scaleY": -1}},
            "/grid/affineTransform/scaleX",
            "non-zero",
        ),
        ({"crsCode": "EPSG:4326", "size": 5}, "/grid/size", "size"),
    ],
)
def test_grid_rejected(grid: dict[str, Any], field: str, named: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_grid(grid, "/grid")

    assert caught.value.field == field
    assert named in caught.value.message


def _function(value: Any) -> str:
    assert isinstance(value, Invocation)
    assert value.function_name is not None
    return value.function_name


def test_frame_crs_alone_sets_default_projection() -> None:
    source = invoke("Image.load", id="A")

    framed = frame_image(source, GridRequest(crs="EPSG:3857", max_dimension=64))

    assert _function(framed) == "Image.clipToBoundsAndScale"
    inner = framed.arguments["input"]
    assert _function(inner) == "Image.setDefaultProjection"
    assert inner.arguments["crsTransform"] == [1, 0, 0, 0, -1, 0]
    assert _function(inner.arguments["crs"]) == "Projection"


def test_frame_window_shares_reprojected_image() -> None:
    source = invoke("Image.load", id="A")
    grid = GridRequest(
        crs="EPSG:32610", crs_transform=(30, 0, 0, 0, -30, 0), width=8, height=4
    )

    encoded = encode_expression(frame_image(source, grid))

    top = encoded["values"]["0"]["functionInvocationValue"]["arguments"]
    rectangle = top["geometry"]["functionInvocationValue"]["arguments"]
    assert set(top) == {"input", "geometry"}
    assert rectangle["coordinates"] == {"constantValue": [0, 0, 8, 4]}
    assert top["input"] == {"valueReference": "1"}
    assert _function(frame_image(source, grid).arguments["input"]) == "Image.reproject"


def test_frame_without_parameters_leaves_image() -> None:
    source = invoke("Image.load", id="A")

    assert frame_image(source, GridRequest()) is source


def test_frame_region_and_scale() -> None:
    source = invoke("Image.load", id="A")
    grid = GridRequest(region=parse_region([0, 0, 1, 1], "/region"), scale=30)

    framed = frame_image(source, grid)

    assert _function(framed) == "Image.clipToBoundsAndScale"
    assert framed.arguments["scale"] == 30
    assert _function(framed.arguments["geometry"]) == "GeometryConstructors.Rectangle"
