"""The official earthengine-api client against the real `python -m standin`.

The module-scoped `ee_client` fixture yields the `ee` module initialized against
the session's stand-in process, so tests of rendered results can be added here.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
import requests
from PIL import Image

TIMEOUT = 60
SRTM = "USGS/SRTMGL1_003"
ELEVATION_PALETTE = ["006633", "E5FFCC", "662A00", "D8D8D8", "F5F5F5"]


def test_get_algorithms_from_server(ee_client: Any) -> None:
    algorithms = ee_client.data.getAlgorithms()

    assert "Image.clipToBoundsAndScale" in algorithms
    assert algorithms["Image.visualize"]["returns"].startswith("Image")


def test_thumb_url_on_server(ee_client: Any, standin_url: str) -> None:
    url = ee_client.Image(SRTM).getThumbURL(
        {"min": 0, "max": 4000, "dimensions": 32, "region": [6, 45, 8, 47]}
    )

    assert url.startswith(f"{standin_url}/v1/projects/")
    assert url.endswith(":getPixels")


def test_thumb_url_serves_png(ee_client: Any) -> None:
    url = ee_client.Image(SRTM).getThumbURL(
        {
            "min": 0,
            "max": 4000,
            "palette": ELEVATION_PALETTE,
            "dimensions": "64x48",
            "region": [5, 44, 9, 47],
            "format": "png",
        }
    )

    response = requests.get(url, timeout=TIMEOUT)

    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["Content-Length"] == str(len(response.content))
    with Image.open(io.BytesIO(response.content)) as picture:
        assert picture.format == "PNG"
        assert picture.size == (64, 48)


def test_unknown_asset_rejected_at_create(ee_client: Any) -> None:
    image = ee_client.Image("USERS/nobody/no-such-image")

    with pytest.raises(ee_client.EEException, match="not found"):
        image.getThumbURL({"dimensions": 16, "region": [0, 0, 1, 1]})
