"""`Image.loadGeoTIFF` against fake-gcs-server (the suite's `gcs_server` fixture)."""

from __future__ import annotations

import io
import urllib.parse
import urllib.request
from typing import Any

import numpy as np
import pytest

from local import stack
from standin.engine import Engine
from standin.errors import EEError
from tests.standin.test_engine import (
    call,
    clip_scale,
    const,
    expression,
    load,
    rectangle,
    shared_engine,
)


def upload(gcs_url: str, bucket: str, name: str, data: bytes) -> None:
    query = urllib.parse.urlencode({"uploadType": "media", "name": name})
    request = urllib.request.Request(
        f"{gcs_url}/upload/storage/v1/b/{bucket}/o?{query}",
        data=data,
        headers={"Content-Type": "image/tiff"},
        method="POST",
    )
    urllib.request.urlopen(request, timeout=10).close()


def render(engine: Engine, node: dict[str, Any], file_format: str) -> bytes:
    return engine.render_thumbnail(
        {"expression": expression(node), "fileFormat": file_format}
    )[0]


@pytest.fixture
def alps_uri(gcs_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Upload a GeoTIFF of the Alps rendered by the engine itself and return its URI."""
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_server)
    node = clip_scale(
        load("NOAA/NGDC/ETOPO1"), rectangle(5, 44, 13, 48), width=32, height=16
    )
    upload(
        gcs_server,
        stack.RENDER_BUCKET,
        "inputs/alps.tif",
        render(shared_engine(), node, "GEO_TIFF"),
    )
    return f"gs://{stack.RENDER_BUCKET}/inputs/alps.tif"


def test_load_geotiff_round_trip(alps_uri: str) -> None:
    engine = shared_engine()
    loaded = call("Image.loadGeoTIFF", uri=const(alps_uri))
    info = engine.compute_value({"expression": expression(loaded)})
    assert [band["id"] for band in info["bands"]] == ["B0", "B1"]
    assert info["bands"][0]["crs"] == "EPSG:4326"
    assert info["bands"][0]["dimensions"] == [32, 16]

    data = render(engine, loaded, "NPY")
    array = np.load(io.BytesIO(data))
    original = np.load(
        io.BytesIO(
            render(
                engine,
                clip_scale(
                    load("NOAA/NGDC/ETOPO1"),
                    rectangle(5, 44, 13, 48),
                    width=32,
                    height=16,
                ),
                "NPY",
            )
        )
    )
    assert (array["B0"] == original["bedrock"]).all()


def test_load_geotiff_missing_object(alps_uri: str) -> None:
    missing = alps_uri.replace("alps.tif", "nothing.tif")
    node = call("Image.loadGeoTIFF", uri=const(missing))
    with pytest.raises(EEError) as raised:
        shared_engine().check_thumbnail({"expression": expression(node)})
    assert raised.value.message == f"Image.loadGeoTIFF: Object '{missing}' not found."
