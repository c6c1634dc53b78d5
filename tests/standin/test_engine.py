"""Engine tests: thumbnails of real data, output sizes, formats and limit errors."""

from __future__ import annotations

import functools
import io
import pathlib
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
