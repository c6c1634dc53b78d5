"""The official earthengine-api client, unchanged, against the stand-in's protocol.

These tests use the fixed fake engine, so they check what goes over the wire and
not what gets rendered.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from conftest import FAKE_PNG

from standin.server import StandinServer

TIMEOUT = 30


@pytest.fixture
def server(start_standin: Any) -> StandinServer:
    return start_standin()


@pytest.fixture
def client(
    server: StandinServer,
    ee_connect: Callable[[str], contextlib.AbstractContextManager[Any]],
) -> Iterator[Any]:
    with ee_connect(server.url) as ee:
        yield ee


def test_initialize_fetches_discovery_and_algorithms(
    server: StandinServer, client: Any
) -> None:
    requests_seen = requests.get(server.url + "/_standin/stats", timeout=TIMEOUT).json()

    assert requests_seen["requests"]["discovery"] == 2
    assert requests_seen["requests"]["algorithms.list"] == 1


def test_get_algorithms_signatures(client: Any) -> None:
    algorithms = client.data.getAlgorithms()

    assert "Image.load" in algorithms
    arguments = [argument["name"] for argument in algorithms["Image.load"]["args"]]
    assert arguments == ["id", "version"]


def test_get_thumb_url_points_at_server(server: StandinServer, client: Any) -> None:
    image = client.Image("USGS/SRTMGL1_003")

    url = image.getThumbURL(
        {"min": 0, "max": 4000, "dimensions": 64, "region": [0, 0, 1, 1]}
    )

    assert url.startswith(server.url + "/v1/projects/standin-project/thumbnails/")
    assert url.endswith(":getPixels")
    response = requests.get(url, timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.content == FAKE_PNG


def test_get_thumbnail_through_raw_resource(client: Any) -> None:
    image = client.Image("USGS/SRTMGL1_003")
    thumbnail_id = client.data.getThumbId({"image": image, "format": "png"})

    data = client.data._execute_cloud_call(
        client.data._get_cloud_projects_raw()
        .thumbnails()
        .getPixels(name=thumbnail_id["thumbid"])
    )

    assert data == FAKE_PNG


def test_workload_tag_accepted(client: Any) -> None:
    image = client.Image("USGS/SRTMGL1_003")

    with client.data.workloadTagContext("render-test"):
        url = image.getThumbURL({"dimensions": 16, "region": [0, 0, 1, 1]})

    assert url.endswith(":getPixels")


def test_compute_value_round_trip(client: Any) -> None:
    result = client.data.computeValue(client.Number(5))

    assert result == {
        "expression": {"result": "0", "values": {"0": {"constantValue": 5}}}
    }


def test_compute_pixels_raw_bytes(client: Any) -> None:
    data = client.data.computePixels(
        {"expression": client.Image("USGS/SRTMGL1_003"), "fileFormat": "NPY"}
    )

    assert data.startswith(b"\x93NUMPY")


def test_project_config(client: Any) -> None:
    config = client.data.getProjectConfig()

    assert config["name"] == "projects/standin-project/config"


def test_engine_error_message_reaches_client(client: Any) -> None:
    image = client.Image("USGS/SRTMGL1_003")

    with pytest.raises(client.EEException, match="Invalid value for fileFormat: BAD"):
        client.data.getThumbId({"image": image, "format": "BAD"})


def test_client_retries_server_error_fault(server: StandinServer, client: Any) -> None:
    requests.post(
        server.url + "/_standin/faults",
        json={"method": "value.compute", "fault": "503"},
        timeout=TIMEOUT,
    )

    assert client.Number(1).getInfo() == {
        "expression": {"result": "0", "values": {"0": {"constantValue": 1}}}
    }
    stats = requests.get(server.url + "/_standin/stats", timeout=TIMEOUT).json()
    assert stats["responses"]["value.compute"] == {"503": 1, "200": 1}


def test_client_sends_user_project(start_standin: Any, ee_connect: Any) -> None:
    server = start_standin(check_user_project=True)

    with ee_connect(server.url) as ee:
        url = ee.Image("USGS/SRTMGL1_003").getThumbURL({"dimensions": 8})

    assert url.endswith(":getPixels")


def test_unregistered_project_message(start_standin: Any, ee_connect: Any) -> None:
    server = start_standin(project_state="not-registered")

    with (
        pytest.raises(Exception, match="is not registered to use Earth Engine"),
        ee_connect(server.url),
    ):
        pass


def test_initialize_without_credentials_unauthenticated(server: StandinServer) -> None:
    import ee

    ee.Reset()
    ee.deprecation._FetchDataCatalogStac = lambda: {}
    try:
        with pytest.raises(ee.EEException, match="missing required authentication"):
            ee.Initialize(credentials=None, url=server.url, project="standin-project")
    finally:
        ee.Reset()


def test_wrong_token_fails_refresh(start_standin: Any) -> None:
    import ee
    import google.auth.exceptions
    import google.oauth2.credentials

    server = start_standin(require_token="the-right-token")
    ee.deprecation._FetchDataCatalogStac = lambda: {}
    credentials = google.oauth2.credentials.Credentials(token="a-wrong-token")
    try:
        # On a 401 the transport tries to refresh the token, and a static token
        # cannot be refreshed.
        with pytest.raises(google.auth.exceptions.RefreshError):
            ee.Initialize(
                credentials=credentials, url=server.url, project="standin-project"
            )
    finally:
        ee.Reset()
