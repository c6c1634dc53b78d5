"""Caller authentication of the HTTP function: IAM, signed webhooks, signed links."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient

from eerender import auth
from local import stack
from tests.abuse.conftest import ee_calls
from tests.http.conftest import MakeClient
from tests.http.test_render_http import ELEVATION_REQUEST, encode_request

HMAC_KEY = "partner-a-" + "k" * 40
OTHER_KEY = "partner-b-" + "q" * 40
LINK_KEY = "links-" + "s" * 40


def hmac_client(make_client: MakeClient, **overrides: str) -> FlaskClient:
    return make_client(
        HTTP_AUTH_MODES="hmac",
        HTTP_HMAC_KEYS=f"partner-a:{HMAC_KEY},partner-b:{OTHER_KEY}",
        **overrides,
    )


def link_client(make_client: MakeClient, **overrides: str) -> FlaskClient:
    return make_client(
        HTTP_AUTH_MODES="signed-link", HTTP_LINK_KEYS=f"web:{LINK_KEY}", **overrides
    )


def signed_post(
    client: FlaskClient,
    request: dict[str, Any],
    key: str = HMAC_KEY,
    timestamp: int | None = None,
    path: str = "/",
    **headers: str,
) -> Any:
    body = json.dumps(request).encode()
    signed = auth.sign_request("POST", b"", body, key, timestamp or int(time.time()))
    return client.post(
        path,
        data=body,
        content_type="application/json",
        headers={**signed, **headers},
    )


def error_code(answer: Any) -> str:
    code: str = answer.get_json()["error"]["code"]
    return code


def test_iam_mode_accepts_unsigned(client: FlaskClient) -> None:
    assert client.post("/", json=ELEVATION_REQUEST).status_code == 302


def test_hmac_unsigned_rejected(make_client: MakeClient, standin_control: str) -> None:
    answer = hmac_client(make_client).post("/", json=ELEVATION_REQUEST)

    assert answer.status_code == 401
    assert error_code(answer) == "UNAUTHENTICATED"
    assert "X-Render-Signature" in answer.get_json()["error"]["message"]
    assert ee_calls(standin_control) == 0


def test_hmac_signed_renders(make_client: MakeClient) -> None:
    answer = signed_post(hmac_client(make_client), ELEVATION_REQUEST)

    assert answer.status_code == 302, answer.get_data(as_text=True)


def test_hmac_second_key_renders(make_client: MakeClient) -> None:
    client = hmac_client(make_client)

    answer = signed_post(client, ELEVATION_REQUEST, OTHER_KEY)

    assert answer.status_code == 302


def test_hmac_key_id_must_match(make_client: MakeClient) -> None:
    client = hmac_client(make_client)

    matching = signed_post(
        client, ELEVATION_REQUEST, **{"X-Render-Key-Id": "partner-a"}
    )
    other = signed_post(client, ELEVATION_REQUEST, **{"X-Render-Key-Id": "partner-b"})

    assert matching.status_code == 302
    assert other.status_code == 401
    assert error_code(other) == "SIGNATURE_INVALID"


def test_hmac_wrong_key_rejected(make_client: MakeClient, standin_control: str) -> None:
    answer = signed_post(hmac_client(make_client), ELEVATION_REQUEST, "x" * 48)

    assert answer.status_code == 401
    assert error_code(answer) == "SIGNATURE_INVALID"
    assert ee_calls(standin_control) == 0


def test_hmac_body_changed_after_signing(make_client: MakeClient) -> None:
    client = hmac_client(make_client)
    body = json.dumps(ELEVATION_REQUEST).encode()
    headers = auth.sign_request("POST", b"", body, HMAC_KEY, int(time.time()))
    changed = json.dumps({**ELEVATION_REQUEST, "dimensions": 4096}).encode()

    answer = client.post(
        "/", data=changed, content_type="application/json", headers=headers
    )

    assert answer.status_code == 401
    assert error_code(answer) == "SIGNATURE_INVALID"


@pytest.mark.parametrize("age", [301, -301, 10**9])
def test_hmac_timestamp_outside_window(make_client: MakeClient, age: int) -> None:
    client = hmac_client(make_client)

    answer = signed_post(client, ELEVATION_REQUEST, timestamp=int(time.time()) - age)

    assert answer.status_code == 401
    assert error_code(answer) == "SIGNATURE_EXPIRED"


@pytest.mark.parametrize("timestamp", ["", "soon", "1e9", "-5", "١٧٠٠٠٠٠٠٠٠", "9" * 40])
def test_hmac_malformed_timestamp(make_client: MakeClient, timestamp: str) -> None:
    client = hmac_client(make_client)
    body = json.dumps(ELEVATION_REQUEST).encode()
    headers = {
        auth.TIMESTAMP_HEADER: timestamp,
        auth.SIGNATURE_HEADER: "v1=" + "0" * 64,
    }

    answer = client.post(
        "/", data=body, content_type="application/json", headers=headers
    )

    assert answer.status_code == 401
    assert error_code(answer) == "SIGNATURE_INVALID"


@pytest.mark.parametrize("header", ["", "v1=", "v0=abc", "v1=zz", "v1=" + "0" * 64])
def test_hmac_malformed_signature(make_client: MakeClient, header: str) -> None:
    client = hmac_client(make_client)
    headers = {
        auth.TIMESTAMP_HEADER: str(int(time.time())),
        auth.SIGNATURE_HEADER: header,
    }

    answer = client.post("/", json=ELEVATION_REQUEST, headers=headers)

    assert answer.status_code == 401
    assert error_code(answer) == "SIGNATURE_INVALID"


def test_hmac_signed_get_covers_query(make_client: MakeClient) -> None:
    client = hmac_client(make_client)
    query = f"request={encode_request(ELEVATION_REQUEST)}".encode()
    headers = auth.sign_request("GET", query, b"", HMAC_KEY, int(time.time()))

    signed = client.get("/?" + query.decode(), headers=headers)
    changed = client.get("/?" + query.decode() + "&dimensions=9", headers=headers)

    assert signed.status_code == 302
    assert changed.status_code == 401


def test_hmac_signs_batch(make_client: MakeClient) -> None:
    client = hmac_client(make_client, REQUEST_TOPIC="projects/p/topics/t")

    unsigned = client.post("/batch", json={"requests": []})
    signed = signed_post(client, {"requests": []}, path="/batch")

    assert unsigned.status_code == 401
    # The batch handler read the replayed body: its own check rejects the empty list.
    assert signed.status_code == 400, signed.get_data(as_text=True)
    assert "requests" in signed.get_json()["error"]["message"]


def test_hmac_without_keys_is_configuration_error(make_client: MakeClient) -> None:
    answer = make_client(HTTP_AUTH_MODES="hmac").post("/", json=ELEVATION_REQUEST)

    assert answer.status_code == 503
    assert error_code(answer) == "AUTH_KEYS_MISSING"


@pytest.mark.parametrize("modes", ["iam,hmac", "tokens", ""])
def test_invalid_modes_are_configuration_error(
    make_client: MakeClient, modes: str
) -> None:
    client = make_client(HTTP_AUTH_MODES=modes, HTTP_HMAC_KEYS=HMAC_KEY)

    answer = client.post("/", json=ELEVATION_REQUEST)

    assert answer.status_code == 503
    assert "HTTP_AUTH_MODES" in answer.get_json()["error"]["message"]


def link(query: dict[str, str], expires_in: int = 600, key: str = LINK_KEY) -> str:
    values = {name: [value] for name, value in query.items()}
    return auth.sign_link("/", values, key, int(time.time()) + expires_in)


LINK_QUERY = {"request": encode_request(ELEVATION_REQUEST)}


def test_signed_link_renders(make_client: MakeClient) -> None:
    answer = link_client(make_client).get(link(LINK_QUERY))

    assert answer.status_code == 302, answer.get_data(as_text=True)


def test_signed_link_plain_parameters(make_client: MakeClient) -> None:
    query = {
        "expression": json.dumps(ELEVATION_REQUEST["expression"]),
        "dimensions": "64",
        "region": "70,20,100,40",
        "response": "json",
    }

    answer = link_client(make_client).get(link(query))

    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert "url" in answer.get_json()


def test_unsigned_get_rejected(make_client: MakeClient, standin_control: str) -> None:
    answer = link_client(make_client).get("/?" + f"request={LINK_QUERY['request']}")

    assert answer.status_code == 401
    assert "signed GET link" in answer.get_json()["error"]["message"]
    assert ee_calls(standin_control) == 0


@pytest.mark.parametrize(
    "change",
    [
        lambda url: url.replace("request=", "request=A"),
        lambda url: url + "&dimensions=4096",
        lambda url: url + "&response=json",
        lambda url: url + "&signature=" + "0" * 64,
        lambda url: url + "&expires=99999999999",
        lambda url: url.replace("?expires=", "?x=1&expires="),
    ],
)
def test_signed_link_tampering_rejected(
    make_client: MakeClient, standin_control: str, change: Any
) -> None:
    answer = link_client(make_client).get(change(link(LINK_QUERY)))

    assert answer.status_code == 401
    assert error_code(answer) == "SIGNATURE_INVALID"
    assert ee_calls(standin_control) == 0


def test_signed_link_without_expires(make_client: MakeClient) -> None:
    url = link(LINK_QUERY)
    query = "&".join(
        part
        for part in urlsplit(url).query.split("&")
        if not part.startswith("expires")
    )

    answer = link_client(make_client).get("/?" + query)

    assert answer.status_code == 401
    assert error_code(answer) == "SIGNATURE_INVALID"


def test_expired_link_rejected(make_client: MakeClient) -> None:
    answer = link_client(make_client).get(link(LINK_QUERY, expires_in=-1))

    assert answer.status_code == 401
    assert error_code(answer) == "SIGNATURE_EXPIRED"


def test_link_signed_with_webhook_key(make_client: MakeClient) -> None:
    client = link_client(make_client, HTTP_HMAC_KEYS=HMAC_KEY)

    answer = client.get(link(LINK_QUERY, key=HMAC_KEY))

    assert answer.status_code == 401


def test_link_mode_rejects_post(make_client: MakeClient) -> None:
    answer = link_client(make_client).post("/", json=ELEVATION_REQUEST)

    assert answer.status_code == 401


def test_both_modes_accept_either(make_client: MakeClient) -> None:
    client = make_client(
        HTTP_AUTH_MODES="hmac,signed-link",
        HTTP_HMAC_KEYS=HMAC_KEY,
        HTTP_LINK_KEYS=LINK_KEY,
    )

    assert signed_post(client, ELEVATION_REQUEST).status_code == 302
    assert client.get(link(LINK_QUERY)).status_code == 302
    assert client.post("/", json=ELEVATION_REQUEST).status_code == 401


def test_preflight_needs_no_signature(make_client: MakeClient) -> None:
    answer = hmac_client(make_client).options(
        "/",
        headers={
            "Origin": "http://127.0.0.1:8000",
            "Access-Control-Request-Method": "POST",
        },
    )

    assert answer.status_code == 204
    assert "X-Render-Signature" in answer.headers["Access-Control-Allow-Headers"]


def test_sign_link_command(make_client: MakeClient, tmp_path: Any) -> None:
    request_file = tmp_path / "request.json"
    request_file.write_text(json.dumps(ELEVATION_REQUEST))
    env = {**os.environ, "HTTP_LINK_KEYS": f"web:{LINK_KEY}"}

    minted = subprocess.run(
        [
            sys.executable,
            "-m",
            "eerender.auth",
            "sign-link",
            "http://f/",
            str(request_file),
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=stack.ROOT,
        env=env,
    ).stdout.strip()

    assert minted.startswith("http://f/?")
    answer = link_client(make_client).get("/?" + urlsplit(minted).query)
    assert answer.status_code == 302, answer.get_data(as_text=True)


def test_sign_request_command(make_client: MakeClient, tmp_path: Any) -> None:
    request_file = tmp_path / "request.json"
    body = json.dumps(ELEVATION_REQUEST).encode()
    request_file.write_bytes(body)
    env = {**os.environ, "HTTP_HMAC_KEYS": f"partner-a:{HMAC_KEY}"}

    printed = subprocess.run(
        [sys.executable, "-m", "eerender.auth", "sign-request", str(request_file)],
        capture_output=True,
        text=True,
        check=True,
        cwd=stack.ROOT,
        env=env,
    ).stdout
    headers = dict(line.split(": ", 1) for line in printed.strip().splitlines())

    answer = hmac_client(make_client).post(
        "/", data=body, content_type="application/json", headers=headers
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)
