"""Shipped recipes render on the stand-in and match the official client's graphs."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import ee
import numpy as np
import pytest
import requests
from ee import apitestcase
from PIL import Image

from eerender import recipes
from eerender.config import Settings
from eerender.request import parse_render_request
from eerender.serializer import canonical_json
from tests.http.conftest import MakeClient

# Small sizes keep the renders fast; each recipe's own dimensions are checked apart.
CASES = {
    "elevation": ({"bbox": "70,20,100,40"}, "PNG"),
    "hillshade": ({"center": "10.5,46.5,200000", "azimuth": 270}, "PNG"),
    "landcover": ({}, "PNG"),
    "ndvi": ({}, "PNG"),
    "truecolour": ({"bbox": "-10,35,30,60"}, "JPEG"),
}


def download(url: str) -> Image.Image:
    pixels = requests.get(url, timeout=30)
    pixels.raise_for_status()
    return Image.open(io.BytesIO(pixels.content))


@pytest.mark.parametrize("name", sorted(CASES))
def test_recipe_renders_on_standin(make_client: MakeClient, name: str) -> None:
    client = make_client(RECIPE_VARIANT="standin")
    params, image_format = CASES[name]

    answer = client.post("/", json={"recipe": name, "params": params, "dimensions": 96})

    assert answer.status_code == 302, answer.get_data(as_text=True)
    image = download(answer.headers["Location"])
    assert image.format == image_format
    assert max(image.size) == 96
    channels = np.asarray(image.convert("RGB")).reshape(-1, 3)
    # Real data varies across the image; a blank or failed render does not.
    assert len(np.unique(channels, axis=0)) > 5


def test_recipe_renders_from_query(make_client: MakeClient) -> None:
    client = make_client(RECIPE_VARIANT="standin")

    answer = client.get("/?recipe=srtm&bbox=10,45,11,46&dimensions=40x40&colors=greys")

    assert answer.status_code == 302, answer.get_data(as_text=True)
    assert download(answer.headers["Location"]).size == (40, 40)


def test_query_parameter_error_is_400(make_client: MakeClient) -> None:
    client = make_client(RECIPE_VARIANT="standin")

    answer = client.get(
        "/?recipe=elevation&bbox=10,45,11", headers={"Accept": "application/json"}
    )

    assert answer.status_code == 400
    error = answer.get_json()["error"]
    assert error["code"] == "INVALID_PARAMETER"
    assert error["field"] == "/params/bbox"


@pytest.fixture(scope="module")
def offline_client() -> Iterator[Any]:
    """The official client with its shipped algorithm signatures, needing no server."""
    patch = pytest.MonkeyPatch()
    patch.setattr(ee.data, "getAlgorithms", apitestcase.GetAlgorithms)
    ee.ApiFunction.initialize()
    yield ee
    patch.undo()
    ee.ApiFunction.reset()


def recipe_body(name: str, params: dict[str, Any], settings: Settings) -> str:
    request = parse_render_request({"recipe": name, "params": params}, settings)
    return canonical_json(request.expression)


def client_body(image: Any) -> str:
    settings = Settings(ee_project="p")
    expression = json.loads(image.serialize(for_cloud_api=True))
    request = parse_render_request(
        {"expression": expression, "region": [0, 0, 1, 1]}, settings
    )
    return canonical_json(request.expression)


def sentinel2_median(ee_module: Any, bbox: list[float], dates: tuple[str, str]) -> Any:
    area = ee_module.Geometry.Rectangle(bbox, None, False)
    return (
        ee_module.ImageCollection("COPERNICUS/S2_SR_HARMONIZED")
        .filterDate(*dates)
        .filterBounds(area)
        .filter(ee_module.Filter.lt("CLOUDY_PIXEL_PERCENTAGE", 30))
        .median()
    )


def test_ndvi_matches_client(offline_client: Any) -> None:
    params = {
        "bbox": "-35,-8.1,-34.8,-7.9",
        "dates": "2023-09-01/2023-12-01",
        "max_cloud": 30,
    }
    expected = sentinel2_median(
        offline_client, [-35, -8.1, -34.8, -7.9], ("2023-09-01", "2023-12-01")
    ).normalizedDifference(["B8", "B4"])

    assert recipe_body("ndvi", params, Settings(ee_project="p")) == client_body(
        expected
    )


def test_truecolour_matches_client(offline_client: Any) -> None:
    params = {
        "bbox": "12.2,45.3,12.5,45.55",
        "dates": "2023-06-01/2023-09-01",
        "max_cloud": 30,
    }
    expected = sentinel2_median(
        offline_client, [12.2, 45.3, 12.5, 45.55], ("2023-06-01", "2023-09-01")
    ).select(["B4", "B3", "B2"])

    assert recipe_body("truecolour", params, Settings(ee_project="p")) == client_body(
        expected
    )


def test_hillshade_matches_client(offline_client: Any) -> None:
    params = {"azimuth": 270, "sun_elevation": 30}
    expected = offline_client.Terrain.hillshade(
        offline_client.Image("USGS/SRTMGL1_003"), 270, 30
    )

    assert recipe_body("hillshade", params, Settings(ee_project="p")) == client_body(
        expected
    )


def test_landcover_matches_client(offline_client: Any) -> None:
    expected = offline_client.Image("MODIS/061/MCD12Q1/2019_01_01").select("LC_Type1")

    assert recipe_body("landcover", {}, Settings(ee_project="p")) == client_body(
        expected
    )


def test_every_recipe_renders_in_tests() -> None:
    assert sorted(CASES) == recipes.book(Settings(ee_project="p")).names()
