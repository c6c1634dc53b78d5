"""Engine tests: thumbnails of real data, output sizes, formats and limit errors."""

from __future__ import annotations

import concurrent.futures
import functools
import io
import pathlib
import zipfile
from typing import Any

import numpy as np
import pytest
import tifffile
from PIL import Image as PILImage

from standin import datasets
from standin.engine import Engine
from standin.errors import EEError

DATA_DIR = pathlib.Path(__file__).resolve().parents[2] / ".cache" / "standin-data"
SRTM_PALETTE = ["006633", "E5FFCC", "662A00", "D8D8D8", "F5F5F5"]


@functools.cache
def shared_engine() -> Engine:
    """Return one engine on the real rasters, installing them on first use."""
    datasets.install(DATA_DIR)
    return Engine(DATA_DIR)


@pytest.fixture(scope="session")
def engine() -> Engine:
    return shared_engine()


# --- Expression builders ---------------------------------------------------------


def call(name: str, **arguments: Any) -> dict[str, Any]:
    return {"functionInvocationValue": {"functionName": name, "arguments": arguments}}


def const(value: Any) -> dict[str, Any]:
    return {"constantValue": value}


def expression(node: dict[str, Any]) -> dict[str, Any]:
    return {"result": "0", "values": {"0": node}}


def load(asset_id: str) -> dict[str, Any]:
    return call("Image.load", id=const(asset_id))


def rectangle(west: float, south: float, east: float, north: float) -> dict[str, Any]:
    return call(
        "GeometryConstructors.Rectangle",
        coordinates=const([west, south, east, north]),
        geodesic=const(False),
    )


def clip_scale(
    image: dict[str, Any], region: dict[str, Any], **size: Any
) -> dict[str, Any]:
    sizes = {k: const(v) for k, v in size.items()}
    return call("Image.clipToBoundsAndScale", input=image, geometry=region, **sizes)


def srtm_thumbnail(region: dict[str, Any], **size: Any) -> dict[str, Any]:
    image = clip_scale(load("USGS/SRTMGL1_003"), region, **size)
    return call(
        "Image.visualize",
        image=image,
        min=const(0),
        max=const(4000),
        palette=const(SRTM_PALETTE),
    )


def npy(engine: Engine, node: dict[str, Any]) -> np.ndarray:
    data, content_type = engine.compute_pixels(
        {"expression": expression(node), "fileFormat": "NPY"}
    )
    assert content_type == "application/octet-stream"
    return np.load(io.BytesIO(data))


def error_of(function: Any, body: dict[str, Any]) -> EEError:
    with pytest.raises(EEError) as raised:
        function(body)
    return raised.value


# --- Thumbnails --------------------------------------------------------------------


def test_srtm_palette_png_size_and_transparency(engine: Engine) -> None:
    node = srtm_thumbnail(rectangle(-180, -60, 180, 85), maxDimension=1024)
    data, content_type = engine.render_thumbnail(
        {"expression": expression(node), "fileFormat": "PNG"}
    )
    assert content_type == "image/png"
    picture = PILImage.open(io.BytesIO(data))
    assert picture.size == (1024, 412)
    assert picture.mode == "RGBA"
    pixels = np.asarray(picture)
    # Mid-Pacific is sea, so masked and transparent; the Sahara is land.
    assert pixels[200, 30, 3] == 0
    sahara = pixels[int((85 - 23) / 145 * 412), int((180 + 10) / 360 * 1024)]
    assert sahara[3] == 255


def test_everest_high_and_mariana_deep(engine: Engine) -> None:
    etopo = load("NOAA/NGDC/ETOPO1")
    everest = npy(
        engine, clip_scale(etopo, rectangle(86.5, 27.5, 87.5, 28.5), width=4, height=4)
    )
    mariana = npy(
        engine,
        clip_scale(etopo, rectangle(141.5, 10.8, 142.8, 11.8), width=4, height=4),
    )
    assert everest["bedrock"].max() > 5000
    assert mariana["bedrock"].min() < -8000


def test_srtm_masked_at_sea_as_zero_in_npy(engine: Engine) -> None:
    srtm = load("USGS/SRTMGL1_003")
    sea = npy(engine, clip_scale(srtm, rectangle(-30, 0, -29, 1), width=2, height=2))
    assert sea.dtype.names == ("elevation",)
    assert (sea["elevation"] == 0).all()


def test_width_and_height_exact(engine: Engine) -> None:
    node = srtm_thumbnail(rectangle(-10, 35, 30, 60), width=300, height=77)
    data, _ = engine.render_thumbnail(
        {"expression": expression(node), "fileFormat": "JPEG"}
    )
    assert PILImage.open(io.BytesIO(data)).size == (300, 77)


def test_auto_format_png_when_transparent(engine: Engine) -> None:
    node = srtm_thumbnail(rectangle(-20, 30, 20, 50), maxDimension=64)
    _, content_type = engine.render_thumbnail({"expression": expression(node)})
    assert content_type == "image/png"


def test_auto_format_jpeg_when_opaque(engine: Engine) -> None:
    node = clip_scale(
        load("NASA/BLUE_MARBLE_NG"), rectangle(-20, 30, 20, 50), maxDimension=64
    )
    _, content_type = engine.render_thumbnail({"expression": expression(node)})
    assert content_type == "image/jpeg"


def test_geotiff_has_georeference(engine: Engine) -> None:
    node = clip_scale(load("USGS/SRTMGL1_003"), rectangle(5, 45, 7, 47), scale=10000)
    data, content_type = engine.render_thumbnail(
        {"expression": expression(node), "fileFormat": "GEO_TIFF"}
    )
    assert content_type == "image/tiff"
    with tifffile.TiffFile(io.BytesIO(data)) as tiff:
        page = tiff.pages[0]
        scale = page.tags["ModelPixelScaleTag"].value
        tiepoint = page.tags["ModelTiepointTag"].value
        keys = page.tags["GeoKeyDirectoryTag"].value
        elevation = page.asarray()
    assert scale[0] == pytest.approx(10000 / 111319.49, rel=1e-6)
    assert tiepoint[3] <= 5.0
    assert 4326 in keys
    assert elevation.dtype == np.int16
    assert elevation.max() > 2500


def test_zipped_geotiff_per_band_names(engine: Engine) -> None:
    node = clip_scale(
        load("NOAA/NGDC/ETOPO1"), rectangle(5, 45, 7, 47), width=8, height=8
    )
    data, content_type = engine.render_thumbnail(
        {
            "expression": expression(node),
            "fileFormat": "ZIPPED_GEO_TIFF_PER_BAND",
            "filenamePrefix": "alps",
        }
    )
    assert content_type == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert names == ["alps.bedrock.tif", "alps.ice_surface.tif"]


# --- Request options -------------------------------------------------------------


def test_band_ids_and_visualization_options(engine: Engine) -> None:
    node = clip_scale(
        load("LANDSAT/LE07/C02/T1/LE07_OLINDA"),
        rectangle(-35, -8, -34.8, -7.9),
        maxDimension=64,
    )
    body = {
        "expression": expression(node),
        "fileFormat": "PNG",
        "bandIds": ["B3", "B2", "B1"],
        "visualizationOptions": {
            "ranges": [{"min": 20, "max": 120}],
            "gamma": {"value": 1.5},
        },
    }
    picture = np.asarray(PILImage.open(io.BytesIO(engine.render_thumbnail(body)[0])))
    assert picture.ndim == 3
    assert picture.shape[2] in (3, 4)


def test_gamma_as_number_brightens(engine: Engine) -> None:
    node = clip_scale(
        load("LANDSAT/LE07/C02/T1/LE07_OLINDA"),
        rectangle(-35, -8, -34.8, -7.9),
        maxDimension=64,
    )
    means = []
    for gamma in (1.0, 2.0):
        body = {
            "expression": expression(node),
            "fileFormat": "PNG",
            "bandIds": ["B4"],
            "visualizationOptions": {
                "ranges": [{"min": 0, "max": 150}],
                "gamma": gamma,
            },
        }
        picture = np.asarray(
            PILImage.open(io.BytesIO(engine.render_thumbnail(body)[0]))
        )
        means.append(float(picture[..., 0].mean()))
    assert means[1] > means[0]


def test_palette_colors_in_visualization_options(engine: Engine) -> None:
    node = clip_scale(
        load("USGS/SRTMGL1_003"), rectangle(85, 27, 89, 29), width=16, height=8
    )
    body = {
        "expression": expression(node),
        "fileFormat": "PNG",
        "visualizationOptions": {
            "ranges": [{"min": 0, "max": 4000}],
            "paletteColors": ["black", "#ffffff"],
        },
    }
    picture = np.asarray(PILImage.open(io.BytesIO(engine.render_thumbnail(body)[0])))
    assert picture.shape[:2] == (8, 16)
    assert picture[..., 0].max() == 255


def test_grid_sets_crs_transform_and_size(engine: Engine) -> None:
    grid = {
        "crsCode": "EPSG:3857",
        "affineTransform": {
            "scaleX": 50000,
            "translateX": -2000000,
            "scaleY": -50000,
            "translateY": 7000000,
        },
        "dimensions": {"width": 40, "height": 30},
    }
    body = {
        "expression": expression(load("NOAA/NGDC/ETOPO1")),
        "fileFormat": "GEO_TIFF",
        "grid": grid,
    }
    data, _ = engine.render_thumbnail(body)
    with tifffile.TiffFile(io.BytesIO(data)) as tiff:
        shape = tiff.pages[0].shape
        keys = tiff.pages[0].tags["GeoKeyDirectoryTag"].value
    assert shape == (2, 30, 40)
    assert 3857 in keys


def test_unbounded_image_without_region(engine: Engine) -> None:
    node = call("Image.constant", value=const(1))
    error = error_of(engine.check_thumbnail, {"expression": expression(node)})
    assert error.code == 400
    assert "unbounded" in error.message


def test_full_scene_native_grid(engine: Engine) -> None:
    body = {
        "expression": expression(load("LANDSAT/LE07/C02/T1/LE07_OLINDA")),
        "fileFormat": "NPY",
    }
    array = np.load(io.BytesIO(engine.compute_pixels(body)[0]))
    assert array.shape == (352, 349)
    assert array.dtype.names == ("B1", "B2", "B3", "B4", "B5", "B7")


# --- Errors, with Earth Engine's wording ------------------------------------------


def test_request_size_limit(engine: Engine) -> None:
    node = clip_scale(
        load("NOAA/NGDC/ETOPO1"), rectangle(-180, -60, 180, 60), width=8000, height=4000
    )
    error = error_of(engine.check_thumbnail, {"expression": expression(node)})
    assert error.code == 400
    assert error.message == (
        "Total request size (128000000 bytes) must be less than or equal to "
        "50331648 bytes."
    )


def test_grid_dimension_limit(engine: Engine) -> None:
    node = clip_scale(load("USGS/SRTMGL1_003"), rectangle(-180, -60, 180, 60), scale=30)
    error = error_of(engine.check_thumbnail, {"expression": expression(node)})
    assert error.message.startswith("Pixel grid dimensions (1335834x")
    assert error.message.endswith("must be less than or equal to 32768.")


def test_png_needs_one_or_three_bands(engine: Engine) -> None:
    node = clip_scale(load("NOAA/NGDC/ETOPO1"), rectangle(0, 0, 1, 1), maxDimension=8)
    error = error_of(
        engine.check_thumbnail, {"expression": expression(node), "fileFormat": "PNG"}
    )
    assert error.code == 400
    assert "2 bands" in error.message


def test_palette_with_three_bands(engine: Engine) -> None:
    node = call(
        "Image.visualize",
        image=load("LANDSAT/LE07/C02/T1/LE07_OLINDA"),
        bands=const(["B4", "B3", "B2"]),
        palette=const(["000000", "ffffff"]),
    )
    error = error_of(engine.check_thumbnail, {"expression": expression(node)})
    assert error.message == (
        "Image.visualize: Cannot provide a palette when visualizing more than one band."
    )


@pytest.mark.parametrize("palette", [{"0": "red"}, [1, 2], [["red", "blue"]], []])
def test_palette_of_wrong_type(engine: Engine, palette: Any) -> None:
    node = call(
        "Image.visualize", image=load("USGS/SRTMGL1_003"), palette=const(palette)
    )
    error = error_of(engine.check_thumbnail, {"expression": expression(node)})
    assert error.message == (
        "Image.visualize: Expected a string or list of strings for field 'palette'."
    )


def test_unknown_asset(engine: Engine) -> None:
    error = error_of(engine.check_thumbnail, {"expression": expression(load("NOPE/X"))})
    assert error.code == 400
    assert error.message == (
        "Image.load: Image asset 'NOPE/X' not found "
        "(does not exist or caller does not have access)."
    )


def test_unknown_algorithm(engine: Engine) -> None:
    node = call("Image.frobnicate", input=load("USGS/SRTMGL1_003"))
    error = error_of(engine.check_thumbnail, {"expression": expression(node)})
    assert error.code == 400
    assert "Image.frobnicate" in error.message


def test_missing_and_unknown_arguments(engine: Engine) -> None:
    missing = error_of(
        engine.check_thumbnail, {"expression": expression(call("Image.select"))}
    )
    assert missing.message == "Image.select: Parameter 'input' is required."
    extra = call("Image.load", id=const("USGS/SRTMGL1_003"), colour=const(1))
    unknown = error_of(engine.check_thumbnail, {"expression": expression(extra)})
    assert unknown.message.startswith("Image.load: ")


def test_wrong_argument_type(engine: Engine) -> None:
    node = call("Image.add", image1=const("x"), image2=const(1))
    error = error_of(engine.check_thumbnail, {"expression": expression(node)})
    assert error.message.startswith("Image.add: Invalid type for argument 'image1'.")


def test_band_pattern_not_found(engine: Engine) -> None:
    node = call(
        "Image.select", input=load("USGS/SRTMGL1_003"), bandSelectors=const(["B9"])
    )
    error = error_of(engine.check_thumbnail, {"expression": expression(node)})
    assert error.message.startswith(
        "Image.select: Pattern 'B9' did not match any bands."
    )


def test_expression_must_be_image(engine: Engine) -> None:
    error = error_of(engine.check_thumbnail, {"expression": expression(const(5))})
    assert "must evaluate to an Image" in error.message


def test_invalid_file_format(engine: Engine) -> None:
    body = {"expression": expression(load("USGS/SRTMGL1_003")), "fileFormat": "GIF"}
    assert "Invalid file format 'GIF'" in error_of(engine.check_thumbnail, body).message


# --- Expression graph ---------------------------------------------------------------


def test_value_reference_shared_and_function_reference(engine: Engine) -> None:
    graph = {
        "result": "0",
        "values": {
            "1": {
                "functionInvocationValue": {
                    "functionName": "Image.parseExpression",
                    "arguments": {
                        "expression": const("a * 2"),
                        "argName": const("img"),
                        "vars": const(["img", "a"]),
                    },
                }
            },
            "2": load("USGS/SRTMGL1_003"),
            "0": {
                "functionInvocationValue": {
                    "functionReference": "1",
                    "arguments": {
                        "img": {"valueReference": "2"},
                        "a": {"valueReference": "2"},
                    },
                }
            },
        },
    }
    info = engine.compute_value({"expression": graph})
    assert [band["id"] for band in info["bands"]] == ["elevation"]


def test_function_definition_and_argument_reference(engine: Engine) -> None:
    graph = {
        "result": "0",
        "values": {
            "1": call(
                "Image.add",
                image1={"argumentReference": "x"},
                image2=call("Image.constant", value=const(1)),
            ),
            "0": call(
                "Collection.map",
                collection=call(
                    "ImageCollection.load", id=const("NASA/BLUE_MARBLE_NG/MONTHLY")
                ),
                baseAlgorithm={
                    "functionDefinitionValue": {"argumentNames": ["x"], "body": "1"}
                },
            ),
        },
    }
    info = engine.compute_value({"expression": graph})
    assert info["type"] == "ImageCollection"
    assert len(info["features"]) == 5


def test_integer_array_and_dictionary_values(engine: Engine) -> None:
    graph = expression(
        {
            "arrayValue": {
                "values": [
                    {"integerValue": "112233445566778899"},
                    {"dictionaryValue": {"values": {"k": const("v")}}},
                ]
            }
        }
    )
    assert engine.compute_value({"expression": graph}) == [
        112233445566778899,
        {"k": "v"},
    ]


def test_concurrent_renders_identical(engine: Engine) -> None:
    node = srtm_thumbnail(rectangle(60, 10, 110, 45), maxDimension=256)
    body = {"expression": expression(node), "fileFormat": "PNG"}
    expected = engine.render_thumbnail(body)[0]
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: engine.render_thumbnail(body)[0], range(8)))
    assert all(result == expected for result in results)
