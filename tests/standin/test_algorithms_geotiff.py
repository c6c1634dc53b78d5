"""`Image.loadGeoTIFF` through the client, with the stand-in reading fake-gcs-server.

These tests use the suite-wide `ee_server`, because that stand-in process is the
one started with STORAGE_EMULATOR_HOST pointing at `gcs_server`.
"""

from __future__ import annotations

import contextlib
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
import requests

from local import stack

ETOPO = "NOAA/NGDC/ETOPO1"
ALPS = {"region": [5, 44, 13, 48], "dimensions": "32x16"}
UPLOAD_TIMEOUT_SECONDS = 10


@pytest.fixture(scope="module")
def ee_storage(
    ee_server: str,
    ee_connect: Callable[[str], contextlib.AbstractContextManager[Any]],
) -> Iterator[Any]:
    """Yield the `ee` module initialized against the stand-in that reads Storage."""
    with ee_connect(ee_server) as ee:
        yield ee


def upload(gcs_url: str, bucket: str, name: str, data: bytes) -> None:
    query = urllib.parse.urlencode({"uploadType": "media", "name": name})
    response = requests.post(
        f"{gcs_url}/upload/storage/v1/b/{bucket}/o?{query}",
        data=data,
        headers={"Content-Type": "image/tiff"},
        timeout=UPLOAD_TIMEOUT_SECONDS,
    )
    response.raise_for_status()


@pytest.fixture(scope="module")
def alps_uri(gcs_server: str, ee_storage: Any, fetch: Any) -> str:
    """Upload the stand-in's own GeoTIFF download of the Alps and return its URI."""
    url = ee_storage.Image(ETOPO).getDownloadURL({**ALPS, "format": "GEO_TIFF"})
    upload(gcs_server, stack.RENDER_BUCKET, "inputs/alps.tif", fetch(url).content)
    return f"gs://{stack.RENDER_BUCKET}/inputs/alps.tif"


def test_load_geotiff_round_trip(ee_storage: Any, alps_uri: str) -> None:
    ee = ee_storage
    loaded = ee.Image.loadGeoTIFF(alps_uri)

    info = loaded.getInfo()
    assert [band["id"] for band in info["bands"]] == ["B0", "B1"]
    assert info["bands"][0]["crs"] == "EPSG:4326"
    assert info["bands"][0]["dimensions"] == [32, 16]
    assert info["bands"][0]["crs_transform"] == [0.25, 0.0, 5.0, 0.0, -0.25, 48.0]

    read_back = ee.data.computePixels(
        {"expression": loaded, "fileFormat": "NUMPY_NDARRAY"}
    )
    original = ee.Image(ETOPO).clipToBoundsAndScale(
        geometry=ee.Geometry.Rectangle(ALPS["region"], None, False),
        width=32,
        height=16,
    )
    expected = ee.data.computePixels(
        {"expression": original, "fileFormat": "NUMPY_NDARRAY"}
    )
    assert np.array_equal(read_back["B0"], expected["bedrock"])
    assert read_back["B0"].max() > 2000


def test_load_geotiff_missing_object(ee_storage: Any, alps_uri: str) -> None:
    ee = ee_storage
    missing = alps_uri.replace("alps.tif", "nothing.tif")

    with pytest.raises(ee.EEException) as raised:
        ee.Image.loadGeoTIFF(missing).getThumbURL({"dimensions": 16})

    assert str(raised.value) == f"Image.loadGeoTIFF: Object '{missing}' not found."
