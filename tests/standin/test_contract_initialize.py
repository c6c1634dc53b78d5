"""`ee.Initialize` with a credentials object holding a local token.

The stand-in here runs with --require-token, so a call that succeeds shows that
the client sent exactly that token.
"""

from __future__ import annotations

from collections.abc import Iterator

import ee
import google.auth.exceptions
import google.oauth2.credentials
import pytest

from tests.standin.conftest import (
    STANDIN_DATA_DIR,
    install_standin_data,
    start_standin_process,
)

LOCAL_TOKEN = "local-token-for-contract-tests"
SRTM = "USGS/SRTMGL1_003"


@pytest.fixture(scope="module")
def token_checking_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start a stand-in that accepts only LOCAL_TOKEN and yield its URL."""
    install_standin_data()
    log_path = tmp_path_factory.mktemp("standin-token") / "standin.log"
    arguments = ["--data-dir", str(STANDIN_DATA_DIR), "--require-token", LOCAL_TOKEN]
    with start_standin_process(arguments, log_path) as standin:
        yield standin.url


@pytest.fixture(autouse=True)
def _offline_client(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Keep ee.Initialize on the stand-in and reset the client after each test.

    ee.Initialize fetches the deprecated-asset catalog from Cloud Storage, and the
    client keeps the last credentials it was given.
    """
    monkeypatch.setattr(ee.deprecation, "_FetchDataCatalogStac", lambda: {})
    yield
    ee.Reset()


def test_initialize_with_local_token(token_checking_url: str) -> None:
    credentials = google.oauth2.credentials.Credentials(token=LOCAL_TOKEN)

    ee.Initialize(credentials=credentials, url=token_checking_url, project="any")

    assert ee.Number(2).add(3).getInfo() == 5
    assert ee.Image(SRTM).bandNames().getInfo() == ["elevation"]
    url = ee.Image(SRTM).getThumbURL({"dimensions": 8, "region": [86, 27, 88, 29]})
    assert url.startswith(f"{token_checking_url}/v1/projects/any/thumbnails/")


def test_initialize_with_other_token_rejected(token_checking_url: str) -> None:
    credentials = google.oauth2.credentials.Credentials(token="another-token")

    # The stand-in responds 401, so google-auth tries to refresh a token that has
    # no refresh fields, as it would against Earth Engine.
    with pytest.raises(google.auth.exceptions.RefreshError):
        ee.Initialize(credentials=credentials, url=token_checking_url, project="p")
