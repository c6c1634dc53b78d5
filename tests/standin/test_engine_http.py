"""End to end: the official client against `python -m standin` over HTTP.

The engine renders real data behind the REST routes, so a getThumbURL link opens
as a real PNG and getInfo returns real statistics.
"""

from __future__ import annotations

import io
import urllib.request
from typing import Any

import numpy as np
from PIL import Image as PILImage

from tests.standin.conftest import TEST_TOKEN

SRTM_PALETTE = ["006633", "E5FFCC", "662A00", "D8D8D8", "F5F5F5"]


def fetch(url: str) -> bytes:
    request = urllib.request.Request(
        url, headers={"Authorization": f"Bearer {TEST_TOKEN}"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return bytes(response.read())


def test_thumb_url_opens_as_srtm_png(ee_server: str, ee_connect: Any) -> None:
    with ee_connect(ee_server) as ee:
        url = ee.Image("USGS/SRTMGL1_003").getThumbURL(
            {
                "min": 0,
                "max": 4000,
                "palette": SRTM_PALETTE,
                "dimensions": 512,
                "region": [-180, -60, 180, 85],
                "format": "png",
            }
        )
    picture = PILImage.open(io.BytesIO(fetch(url)))
    assert picture.format == "PNG"
    assert picture.size == (512, 206)
    assert picture.mode == "RGBA"


def test_get_info_of_region_statistics(ee_server: str, ee_connect: Any) -> None:
    with ee_connect(ee_server) as ee:
        himalaya = ee.Geometry.Rectangle([85, 27, 89, 29])
        stats = (
            ee.Image("USGS/SRTMGL1_003")
            .reduceRegion(ee.Reducer.max(), himalaya, 10000)
            .getInfo()
        )
    assert stats["elevation"] > 5000


def test_compute_pixels_ndvi_npy(ee_server: str, ee_connect: Any) -> None:
    with ee_connect(ee_server) as ee:
        scene = ee.Image("LANDSAT/LE07/C02/T1/LE07_OLINDA")
        data = ee.data.computePixels(
            {
                "expression": scene.normalizedDifference(["B4", "B3"]),
                "fileFormat": "NPY",
                "grid": {
                    "dimensions": {"width": 64, "height": 64},
                    "affineTransform": {
                        "scaleX": 150,
                        "shearX": 0,
                        "translateX": 288776.25,
                        "shearY": 0,
                        "scaleY": -150,
                        "translateY": 9120760.75,
                    },
                    "crsCode": "EPSG:31985",
                },
            }
        )
    ndvi = np.load(io.BytesIO(data))["nd"]
    assert ndvi.shape == (64, 64)
    assert float(np.nanmax(ndvi)) > 0.2
    assert float(np.nanmin(ndvi)) < -0.2
