"""Stored renders answered with a V4 signed URL, signed through signBlob."""

from __future__ import annotations

import io
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from PIL import Image

from local.iam_standin import IamStandin
from tests.http.conftest import MakeClient
from tests.http.test_render_http import ELEVATION_REQUEST

SIGNER = "render-fn@local-project.iam.gserviceaccount.com"


@pytest.fixture
def iam() -> Iterator[IamStandin]:
    with IamStandin() as standin:
        yield standin


def test_store_redirects_to_signed_url(
    make_client: MakeClient, iam: IamStandin, gcs_server: str
) -> None:
    client = make_client(SIGNED_URL_SERVICE_ACCOUNT=SIGNER, IAM_CREDENTIALS_URL=iam.url)
    answer = client.post(
        "/", json={**ELEVATION_REQUEST, "delivery": "store", "signedUrl": True}
    )

    assert answer.status_code == 302, answer.get_data(as_text=True)
    url = answer.headers["Location"]
    assert url.startswith(gcs_server)
    query = parse_qs(urlsplit(url).query)
    assert query["X-Goog-Algorithm"] == ["GOOG4-RSA-SHA256"]
    assert query["X-Goog-Credential"][0].startswith(SIGNER + "/")
    assert query["X-Goog-Expires"] == ["3600"]

    email, payload = iam.payloads[-1]
    assert email == SIGNER
    signature = bytes.fromhex(query["X-Goog-Signature"][0])
    iam.key.public_key().verify(signature, payload, padding.PKCS1v15(), hashes.SHA256())

    image = requests.get(url, timeout=30)
    assert image.status_code == 200
    assert Image.open(io.BytesIO(image.content)).size == (300, 200)


def test_signed_url_in_json_answer(make_client: MakeClient, iam: IamStandin) -> None:
    client = make_client(SIGNED_URL_SERVICE_ACCOUNT=SIGNER, IAM_CREDENTIALS_URL=iam.url)
    answer = client.post(
        "/",
        json={**ELEVATION_REQUEST, "delivery": "store", "signedUrl": True},
        headers={"Accept": "application/json"},
    )

    assert answer.status_code in (200, 201)
    assert "X-Goog-Signature=" in answer.get_json()["signed_url"]


def test_signed_url_without_signer_is_configuration_error(client: object) -> None:
    answer = client.post(  # type: ignore[attr-defined]
        "/", json={**ELEVATION_REQUEST, "delivery": "store", "signedUrl": True}
    )

    assert answer.status_code == 503
    assert answer.get_json()["error"]["code"] == "SIGNING_DISABLED"


def test_signing_retries_unavailable(make_client: MakeClient, iam: IamStandin) -> None:
    client = make_client(SIGNED_URL_SERVICE_ACCOUNT=SIGNER, IAM_CREDENTIALS_URL=iam.url)
    iam.fail_next(503)
    answer = client.post(
        "/", json={**ELEVATION_REQUEST, "delivery": "store", "signedUrl": True}
    )

    assert answer.status_code == 302, answer.get_data(as_text=True)
    assert iam.requests == 2


def test_signing_refusal_names_role(make_client: MakeClient, iam: IamStandin) -> None:
    client = make_client(SIGNED_URL_SERVICE_ACCOUNT=SIGNER, IAM_CREDENTIALS_URL=iam.url)
    iam.fail_next(403, count=5)
    answer = client.post(
        "/", json={**ELEVATION_REQUEST, "delivery": "store", "signedUrl": True}
    )

    error = answer.get_json()["error"]
    assert answer.status_code == 503
    assert error["code"] == "SIGNING_PERMISSION"
    assert "roles/iam.serviceAccountTokenCreator" in error["message"]
    assert iam.requests == 1


def test_signing_bad_request_not_retried(
    make_client: MakeClient, iam: IamStandin
) -> None:
    client = make_client(SIGNED_URL_SERVICE_ACCOUNT=SIGNER, IAM_CREDENTIALS_URL=iam.url)
    iam.fail_next(400, count=5)
    answer = client.post(
        "/", json={**ELEVATION_REQUEST, "delivery": "store", "signedUrl": True}
    )

    assert answer.status_code == 502
    assert answer.get_json()["error"]["code"] == "SIGNING_FAILED"
    assert iam.requests == 1
