"""Failures people meet rendering EE images over HTTP, each with the right answer."""

from __future__ import annotations

import io

import numpy as np
import pytest
import requests
from flask.testing import FlaskClient
from PIL import Image

from eerender.earthengine import translate_error
from eerender.errors import ComputationTooLarge, UpstreamBusy
from tests.http.conftest import stats
from tests.http.test_render_http import SRTM, fetch_image


def test_whole_scene_without_size_gets_default(client: FlaskClient) -> None:
    # A region with no dimensions would ask EE for native resolution and fail its
    # request-size limit; the product applies its default longest side instead.
    request = {
        "expression": SRTM,
        "region": [-123.2, 36.7, -120.6, 38.6],
        "crs": "EPSG:4326",
    }
    answer = client.post("/", json=request, headers={"Accept": "application/json"})

    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json()["defaults_applied"] == {"dimensions": 1024}


def test_scale_over_huge_region_rejected(
    client: FlaskClient, standin_control: str
) -> None:
    request = {
        "expression": SRTM,
        "region": [-180, -60, 180, 60],
        "scale": 30,
        "min": 0,
        "max": 4000,
    }
    answer = client.post("/", json=request)

    error = answer.get_json()["error"]
    assert answer.status_code == 400
    assert error["code"] in ("DIMENSIONS_TOO_LARGE", "REQUEST_TOO_LARGE")
    assert error["limit"]
    assert "dimensions" in error["message"]
    assert stats(standin_control)["requests"].get("thumbnails.create", 0) == 0


def test_oversized_dimensions_rejected(client: FlaskClient) -> None:
    request = {
        "expression": SRTM,
        "region": [-180, -60, 180, 60],
        "dimensions": "40000x8000",
    }
    answer = client.post("/", json=request)

    assert answer.status_code == 400
    assert answer.get_json()["error"]["code"] == "DIMENSIONS_TOO_LARGE"
    assert answer.get_json()["error"]["limit"] == 32768


@pytest.mark.parametrize(
    "palette",
    [{"0": "red"}, [1, 2], [["red", "blue"]], [], ["notacolour"]],
)
def test_palette_of_wrong_type_rejected(
    client: FlaskClient, standin_control: str, palette: object
) -> None:
    request = {"expression": SRTM, "region": [0, 0, 1, 1], "dimensions": 64}
    answer = client.post("/", json={**request, "palette": palette})

    error = answer.get_json()["error"]
    assert answer.status_code == 400
    assert error["code"] == "INVALID_PALETTE"
    assert error["field"].startswith("/palette")
    assert stats(standin_control)["requests"].get("thumbnails.create", 0) == 0


def test_bbox_crossing_antimeridian_rejected(client: FlaskClient) -> None:
    request = {"expression": SRTM, "region": [170, -20, -170, -10], "dimensions": 512}
    answer = client.post("/", json=request)

    error = answer.get_json()["error"]
    assert answer.status_code == 400
    assert error["code"] == "REGION_CROSSES_ANTIMERIDIAN"
    assert "190" in error["message"] or "180" in error["message"]


def test_polygon_past_180_renders_fiji(client: FlaskClient) -> None:
    polygon = {
        "type": "Polygon",
        "coordinates": [[[170, -20], [190, -20], [190, -10], [170, -10], [170, -20]]],
    }
    request = {
        "expression": SRTM,
        "region": polygon,
        "dimensions": "200x100",
        "min": -6000,
        "max": 1000,
        "format": "png",
    }
    answer = client.post("/", json=request)
    image = fetch_image(answer.headers["Location"])

    assert answer.status_code == 302
    assert image.size == (200, 100)
    # Both halves of the window hold data: the Pacific on each side of 180 degrees.
    pixels = np.asarray(image.convert("L"))
    assert pixels[:, :100].std() > 0
    assert pixels[:, 100:].std() > 0


def test_web_mercator_near_pole_rejected(client: FlaskClient) -> None:
    request = {
        "expression": SRTM,
        "region": [-10, 80, 10, 89.9],
        "crs": "EPSG:3857",
        "dimensions": 512,
    }
    answer = client.post("/", json=request)

    assert answer.status_code == 400
    assert answer.get_json()["error"]["code"] == "REGION_OUTSIDE_PROJECTION"
    assert "85.05" in answer.get_json()["error"]["message"]


def test_largest_image_redirected_not_proxied(client: FlaskClient) -> None:
    # 4096 x 4096 x 3 bytes is 48 MiB, EE's limit: the function answers with a redirect
    # and no image bytes pass through it, so its own response limits never apply.
    request = {
        "expression": SRTM,
        "region": [-122.6, 37.5, -121.8, 38.2],
        "dimensions": "4096x4096",
        "min": 0,
        "max": 1000,
        "palette": ["000000", "ffffff"],
        "format": "png",
    }
    answer = client.post("/", json=request)

    assert answer.status_code == 302
    assert len(answer.get_data()) == 0
    pixels = requests.get(answer.headers["Location"], timeout=120)
    assert Image.open(io.BytesIO(pixels.content)).size == (4096, 4096)


def error_response(status: int, message: str) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.reason = "error"
    body = f'{{"error": {{"code": {status}, "message": "{message}", "status": "X"}}}}'
    response.raw = io.BytesIO(body.encode())
    return response


def test_memory_limit_is_computation_too_large() -> None:
    error = translate_error(
        error_response(400, "User memory limit exceeded."), "thumbnails.getPixels", "p"
    )

    assert isinstance(error, ComputationTooLarge)
    assert error.http_status == 422
    assert error.code == "COMPUTATION_TOO_LARGE"
    assert error.upstream is not None
    assert error.upstream.message == "User memory limit exceeded."


def test_concurrent_aggregations_is_busy() -> None:
    error = translate_error(
        error_response(400, "Too many concurrent aggregations."),
        "thumbnails.getPixels",
        "p",
    )

    assert isinstance(error, UpstreamBusy)
    assert error.http_status == 429


def test_unregistered_project_names_the_fix(unregistered_client: FlaskClient) -> None:
    request = {"expression": SRTM, "region": [0, 0, 1, 1], "dimensions": 64}
    answer = unregistered_client.post("/", json=request)

    error = answer.get_json()["error"]
    assert answer.status_code == 503
    assert error["code"] == "EE_NOT_AUTHORIZED"
    assert (
        "https://code.earthengine.google.com/register?project=local-project"
        in (error["message"])
    )
    assert error["upstream"]["status"] == 403


def test_permission_error_names_service_account() -> None:
    error = translate_error(
        error_response(
            403, "Caller does not have required permission to use project p."
        ),
        "thumbnails.create",
        "p",
        "render@p.iam.gserviceaccount.com",
    )

    assert "render@p.iam.gserviceaccount.com" in error.message
    assert "roles/serviceusage.serviceUsageConsumer" in error.message
