"""The Earth Engine client against the stand-in: auth, project states, retries."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from eerender.config import Settings
from eerender.earthengine import EarthEngineClient, load_credentials
from eerender.errors import (
    ConfigurationError,
    InvalidRequest,
    ThumbnailExpired,
    UpstreamBusy,
)
from eerender.request import parse_render_request
from local import stack
from local.demo import ELEVATION

# A 64 x 64 GeoTIFF of elevation, built the way every trigger builds its body.
BODY = parse_render_request(
    {
        "expression": ELEVATION,
        "region": [0, 40, 10, 50],
        "dimensions": "64x64",
        "format": "geotiff",
    },
    Settings(ee_project=stack.LOCAL_PROJECT),
).thumbnail_body()


def client_for(url: str, **overrides: str) -> EarthEngineClient:
    env = {
        "EE_PROJECT": stack.LOCAL_PROJECT,
        "EE_API_URL": url,
        "EE_STATIC_TOKEN": stack.LOCAL_TOKEN,
        **overrides,
    }
    return EarthEngineClient(Settings.from_environ(env))


@pytest.fixture
def ee_url(ee_server: str) -> Iterator[str]:
    requests.post(f"{ee_server}/_standin/reset", timeout=10).raise_for_status()
    yield ee_server
    requests.post(f"{ee_server}/_standin/reset", timeout=10).raise_for_status()


def add_fault(url: str, **fault: object) -> None:
    requests.post(f"{url}/_standin/faults", json=fault, timeout=10).raise_for_status()


def test_create_then_download(ee_url: str) -> None:
    client = client_for(ee_url)
    name = client.create_thumbnail(BODY)
    pixels = client.open_pixels(name)

    assert name.startswith("projects/local-project/thumbnails/")
    assert pixels.content_type == "image/tiff"
    assert pixels.response.content[:2] in (b"II", b"MM")


def test_regional_create_form(ee_url: str) -> None:
    client = client_for(ee_url, EE_LOCATION="us-central1")

    assert client.create_thumbnail(BODY).startswith(
        "projects/local-project/thumbnails/"
    )


def test_workload_tag_and_key(ee_url: str) -> None:
    client = client_for(ee_url, EE_WORKLOAD_TAG="renders", EE_API_KEY="k 1")
    name = client.create_thumbnail(BODY)

    assert client.pixel_url(name) == f"{ee_url}/v1/{name}:getPixels?key=k%201"


def test_503_then_success_is_retried(ee_url: str) -> None:
    add_fault(ee_url, method="thumbnails.create", fault="503", count=2)

    assert client_for(ee_url).create_thumbnail(BODY)


def test_429_exhausting_attempts_is_busy(ee_url: str) -> None:
    add_fault(ee_url, method="thumbnails.create", fault="429", count=3, retry_after=0)
    client = client_for(ee_url, EE_MAX_ATTEMPTS="2")

    with pytest.raises(UpstreamBusy) as caught:
        client.create_thumbnail(BODY)
    assert caught.value.upstream is not None
    assert caught.value.upstream.status == 429


def test_400_is_not_retried(ee_url: str) -> None:
    body = {**BODY, "fileFormat": "NOT_A_FORMAT"}

    with pytest.raises(InvalidRequest):
        client_for(ee_url).create_thumbnail(body)
    stats = requests.get(f"{ee_url}/_standin/stats", timeout=10).json()
    assert stats["requests"]["thumbnails.create"] == 1


def test_expired_id_is_reported(ee_url: str) -> None:
    client = client_for(ee_url)
    name = client.create_thumbnail(BODY)
    add_fault(ee_url, method="thumbnails.getPixels", fault="expired")

    with pytest.raises(ThumbnailExpired):
        client.open_pixels(name)


@pytest.fixture(
    scope="module", params=["not-registered", "api-disabled", "no-serviceusage"]
)
def refusing_standin(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    process = stack.standin(stack.free_port(), "--project-state", request.param)
    process.start()
    yield request.param, process.url
    process.stop()


EXPECTED_CODES = {
    "not-registered": ("EE_NOT_AUTHORIZED", "register?project=local-project"),
    "api-disabled": ("EE_API_DISABLED", "enable earthengine.googleapis.com"),
    "no-serviceusage": ("EE_PERMISSION", "roles/serviceusage.serviceUsageConsumer"),
}


def test_project_state_becomes_configuration_error(
    refusing_standin: tuple[str, str],
) -> None:
    state, url = refusing_standin
    code, fix = EXPECTED_CODES[state]

    with pytest.raises(ConfigurationError) as caught:
        client_for(url).create_thumbnail(BODY)
    assert caught.value.code == code
    assert fix in caught.value.message
    assert caught.value.upstream is not None
    assert caught.value.upstream.status == 403


def test_wrong_token_is_configuration_error() -> None:
    process = stack.standin(stack.free_port(), "--require-token", "the-right-one")
    process.start()
    try:
        with pytest.raises(ConfigurationError) as caught:
            client_for(process.url).create_thumbnail(BODY)
        assert caught.value.code == "EE_UNAUTHENTICATED"
    finally:
        process.stop()


def test_missing_credentials_never_fall_back(monkeypatch: pytest.MonkeyPatch) -> None:
    # A missing key file makes google.auth.default fail at once, before any lookup.
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent/key.json")
    settings = Settings.from_environ({"EE_PROJECT": "p"})

    with pytest.raises(ConfigurationError) as caught:
        load_credentials(settings)
    assert caught.value.code == "CREDENTIALS_MISSING"


def test_static_token_refused_for_google_host() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_environ({"EE_PROJECT": "p", "EE_STATIC_TOKEN": "t"})
    assert caught.value.code == "STATIC_TOKEN_NOT_LOCAL"
