"""No secret, token, signature or signed query string reaches the HTTP logs."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient

from eerender import auth
from local import stack
from local.iam_standin import IamStandin
from tests.http.conftest import MakeClient
from tests.http.test_render_http import (
    ELEVATION_REQUEST,
    SRTM,
    encode_request,
    fresh_store_request,
)

API_KEY = "AIzaSy-test-api-key-0123456789abcdef"
HMAC_KEY = "hmac-secret-" + "h" * 40
LINK_KEY = "link-secret-" + "l" * 40
SIGNER = "render-fn@local-project.iam.gserviceaccount.com"
SECRETS = (API_KEY, HMAC_KEY, LINK_KEY, stack.LOCAL_TOKEN)


@pytest.fixture
def iam() -> Iterator[IamStandin]:
    with IamStandin() as standin:
        yield standin


def logged_lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    """Return the JSON log lines written so far, each checked to be one JSON object."""
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    for line in lines:
        assert isinstance(json.loads(line), dict), line
    return lines


def assert_absent(lines: list[str], *values: str) -> None:
    text = "\n".join(lines)
    for value in values:
        assert value not in text, f"{value[:12]}... appears in the logs"


def signatures_of(url: str) -> list[str]:
    query = parse_qs(urlsplit(url).query)
    return query.get("X-Goog-Signature", []) + query.get("signature", [])


def webhook_headers(body: bytes, key: str = HMAC_KEY) -> dict[str, str]:
    return auth.sign_request("POST", b"", body, key, int(time.time()))


def test_redirect_and_json_paths(
    make_client: MakeClient, capsys: pytest.CaptureFixture[str]
) -> None:
    client = make_client(EE_API_KEY=API_KEY)

    redirect = client.post("/", json=ELEVATION_REQUEST)
    as_json = client.post("/", json={**ELEVATION_REQUEST, "response": "json"})
    as_get = client.get("/?request=" + encode_request(ELEVATION_REQUEST))

    assert API_KEY in redirect.headers["Location"]
    assert API_KEY in as_json.get_json()["url"]
    assert as_get.status_code == 302
    lines = logged_lines(capsys)
    assert len(lines) >= 3
    assert_absent(lines, *SECRETS)


def test_store_with_signed_url(
    make_client: MakeClient, iam: IamStandin, capsys: pytest.CaptureFixture[str]
) -> None:
    client = make_client(SIGNED_URL_SERVICE_ACCOUNT=SIGNER, IAM_CREDENTIALS_URL=iam.url)

    redirect = client.post("/", json={**fresh_store_request(), "signedUrl": True})
    as_json = client.post(
        "/", json={**fresh_store_request(), "signedUrl": True, "response": "json"}
    )

    assert redirect.status_code == 302
    assert as_json.status_code in (200, 201)
    signed = signatures_of(redirect.headers["Location"]) + signatures_of(
        as_json.get_json()["signed_url"]
    )
    assert len(signed) == 2
    assert_absent(logged_lines(capsys), *SECRETS, *signed)


def test_webhook_paths(
    make_client: MakeClient, capsys: pytest.CaptureFixture[str]
) -> None:
    client = make_client(
        HTTP_AUTH_MODES="hmac", HTTP_HMAC_KEYS=f"partner:{HMAC_KEY}", EE_API_KEY=API_KEY
    )
    body = json.dumps(ELEVATION_REQUEST).encode()
    good = webhook_headers(body)
    bad = webhook_headers(body, "x" * 40)
    expired = auth.sign_request("POST", b"", body, HMAC_KEY, int(time.time()) - 3600)

    answers = [
        client.post("/", data=body, content_type="application/json", headers=headers)
        for headers in (good, bad, expired, {})
    ]

    assert [answer.status_code for answer in answers] == [302, 401, 401, 401]
    sent = [headers[auth.SIGNATURE_HEADER] for headers in (good, bad, expired)]
    assert_absent(logged_lines(capsys), *SECRETS, *(value[3:] for value in sent))


def test_signed_link_paths(
    make_client: MakeClient, capsys: pytest.CaptureFixture[str]
) -> None:
    client = make_client(HTTP_AUTH_MODES="signed-link", HTTP_LINK_KEYS=LINK_KEY)
    query = {"request": [encode_request(ELEVATION_REQUEST)]}
    valid = auth.sign_link("/", query, LINK_KEY, int(time.time()) + 60)
    expired = auth.sign_link("/", query, LINK_KEY, int(time.time()) - 60)
    tampered = valid.replace("request=", "request=A")

    answers = [client.get(url) for url in (valid, expired, tampered)]

    assert [answer.status_code for answer in answers] == [302, 401, 401]
    link_signatures = [*signatures_of(valid), *signatures_of(expired)]
    assert_absent(logged_lines(capsys), *SECRETS, *link_signatures)


def test_error_paths(
    make_client: MakeClient, capsys: pytest.CaptureFixture[str]
) -> None:
    client: FlaskClient = make_client(
        EE_API_KEY=API_KEY,
        HTTP_RATE_LIMIT="1",
        HTTP_RATE_BURST="8",
        HTTP_MAX_PIXELS="100000",
        RENDER_ALLOWED_ASSET_PREFIXES="USGS",
    )
    token = {"Authorization": f"Bearer {stack.LOCAL_TOKEN}.{API_KEY}.x"}
    private = json.loads(json.dumps(SRTM).replace("USGS/SRTMGL1_003", "NASA/x"))

    statuses = [
        client.post("/", json={"expression": 1}, headers=token).status_code,
        client.post("/", data=b"\xff", content_type="application/json").status_code,
        client.post("/", data=b"x" * (11 * 1024 * 1024)).status_code,
        client.post("/", json={**ELEVATION_REQUEST, "expression": private}).status_code,
        client.post("/", json={**ELEVATION_REQUEST, "dimensions": 4096}).status_code,
        client.get(f"/?key={API_KEY}&signature={LINK_KEY}").status_code,
        client.put("/", json=ELEVATION_REQUEST).status_code,
        client.post("/", json={**ELEVATION_REQUEST, "delivery": "x"}).status_code,
        client.post("/", json=ELEVATION_REQUEST).status_code,
        client.post("/", json=ELEVATION_REQUEST).status_code,
    ]

    # The 413 is returned before the rate limit counts, so the tenth call is limited.
    assert statuses == [400, 400, 413, 403, 400, 400, 405, 400, 302, 429]
    assert_absent(logged_lines(capsys), *SECRETS)
