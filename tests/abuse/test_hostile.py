"""Hand-written hostile requests: each gets its status and code, and no EE call.

Every case runs against the real HTTP function with the Earth Engine stand-in behind
it. The stand-in's counters show that no rejected request reached Earth Engine, and
the fake-gcs-server listing shows that none wrote an object.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient

from tests.abuse.conftest import ee_calls, object_count
from tests.http.conftest import MakeClient
from tests.http.test_render_http import ELEVATION_REQUEST, SRTM, encode_request

MIB = 1024 * 1024


@pytest.fixture
def guarded(
    client: FlaskClient, standin_control: str, gcs_server: str
) -> Iterator[FlaskClient]:
    """The HTTP function; the test fails if a request reached Earth Engine or GCS."""
    objects = object_count(gcs_server)
    yield client
    assert ee_calls(standin_control) == 0
    assert object_count(gcs_server) == objects


def post_raw(
    client: FlaskClient, body: bytes, content_type: str = "application/json"
) -> Any:
    return client.post("/", data=body, content_type=content_type)


def expect(answer: Any, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.get_data(as_text=True)[:500]
    error: dict[str, Any] = answer.get_json()["error"]
    assert error["code"] == code
    # Pointers into a 100-level expression are long, but no hostile value comes back.
    assert len(answer.get_data()) < 16384
    return error


def nested_array(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {"constantValue": 1}
    for _ in range(depth):
        node = {"arrayValue": {"values": [node]}}
    return {"result": "0", "values": {"0": node}}


def test_deep_json_nesting(guarded: FlaskClient) -> None:
    body = b'{"expression": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"

    expect(post_raw(guarded, body), 400, "INVALID_JSON")


def test_deep_expression_nesting(guarded: FlaskClient) -> None:
    answer = guarded.post("/", json={"expression": nested_array(300)})

    error = expect(answer, 400, "EXPRESSION_TOO_DEEP")
    assert error["field"].startswith("/expression/values/0/")


def test_deep_reference_chain(guarded: FlaskClient) -> None:
    values: dict[str, Any] = {
        str(i): call_add({"valueReference": str(i + 1)}) for i in range(400)
    }
    values["400"] = SRTM["values"]["0"]

    answer = guarded.post("/", json={"expression": {"result": "0", "values": values}})

    expect(answer, 400, "EXPRESSION_TOO_DEEP")


def call_add(image: dict[str, Any]) -> dict[str, Any]:
    return {
        "functionInvocationValue": {
            "functionName": "Image.add",
            "arguments": {"image1": image, "image2": {"constantValue": 1}},
        }
    }


@pytest.mark.parametrize(
    "values",
    [
        {"0": {"valueReference": "0"}},
        {"0": {"valueReference": "1"}, "1": {"valueReference": "0"}},
        {
            "0": call_add({"valueReference": "1"}),
            "1": call_add({"valueReference": "0"}),
        },
    ],
)
def test_cyclic_expression(guarded: FlaskClient, values: dict[str, Any]) -> None:
    answer = guarded.post("/", json={"expression": {"result": "0", "values": values}})

    error = expect(answer, 400, "INVALID_EXPRESSION")
    assert "cycle" in error["message"]


def test_too_many_nodes(guarded: FlaskClient) -> None:
    node: dict[str, Any] = {
        "arrayValue": {"values": [{"constantValue": i} for i in range(6000)]}
    }

    answer = guarded.post(
        "/", json={"expression": {"result": "0", "values": {"0": node}}}
    )

    expect(answer, 400, "EXPRESSION_TOO_LARGE")


def test_ten_mebibyte_body(guarded: FlaskClient) -> None:
    padding = "x" * (10 * MIB)
    body = json.dumps({**ELEVATION_REQUEST, "filenamePrefix": padding}).encode()

    error = expect(post_raw(guarded, body), 413, "REQUEST_TOO_LARGE")
    assert error["limit"] == 10 * MIB


def test_body_just_under_limit_is_read(guarded: FlaskClient) -> None:
    padding = "x" * (10 * MIB - 1000)
    body = json.dumps({**ELEVATION_REQUEST, "region": padding}).encode()

    expect(post_raw(guarded, body), 400, "INVALID_REGION")


@pytest.mark.parametrize(
    "body",
    [
        b'{"expression": "\xff\xfe"}',
        b"\xef\xbb\xbf\xc3\x28",
        b'{"dimensions": "\xed\xa0\x80"}',  # an encoded surrogate
    ],
)
def test_invalid_utf8(guarded: FlaskClient, body: bytes) -> None:
    expect(post_raw(guarded, body), 400, "INVALID_UTF8")


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        "",
    ],
)
def test_wrong_content_type(guarded: FlaskClient, content_type: str) -> None:
    body = json.dumps(ELEVATION_REQUEST).encode()

    expect(post_raw(guarded, body, content_type), 400, "UNSUPPORTED_CONTENT_TYPE")


@pytest.mark.parametrize(
    "body",
    [
        b'{"expression": {"result": "0", "values": {"0": {"constantValue": NaN}}}}',
        b'{"scale": Infinity}',
        b'{"min": -Infinity}',
    ],
)
def test_nan_and_infinity_literals(guarded: FlaskClient, body: bytes) -> None:
    expect(post_raw(guarded, body), 400, "INVALID_JSON")


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"scale": 1e999}, "INVALID_REQUEST"),
        ({"max": -1e999}, "INVALID_VISUALIZATION"),
        ({"dimensions": 1e999}, "INVALID_REQUEST"),
        (
            {"expression": {"result": "0", "values": {"0": {"constantValue": 1e999}}}},
            "INVALID_EXPRESSION",
        ),
    ],
)
def test_overflowing_numbers(
    guarded: FlaskClient, fields: dict[str, Any], code: str
) -> None:
    body = json.dumps({**ELEVATION_REQUEST, **fields}).replace("Infinity", "1e999")

    error = expect(post_raw(guarded, body.encode()), 400, code)
    assert error["field"]


def test_huge_integer_literal(guarded: FlaskClient) -> None:
    body = b'{"dimensions": ' + b"9" * 5000 + b"}"

    expect(post_raw(guarded, body), 400, "INVALID_JSON")


def test_huge_integer_in_query(guarded: FlaskClient) -> None:
    answer = guarded.get(f"/?expression={json.dumps(SRTM)}&scale={'9' * 5000}")

    assert answer.status_code == 400


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("scale=nan", "/scale"),
        ("scale=inf", "/scale"),
        ("min=0&max=-infinity", "/max"),
        ("dimensions=1e999", "/dimensions"),
    ],
)
def test_nan_in_query(guarded: FlaskClient, query: str, field: str) -> None:
    expression = json.dumps(SRTM)
    answer = guarded.get(f"/?expression={expression}&{query}")

    assert answer.status_code == 400, answer.get_data(as_text=True)
    assert answer.get_json()["error"]["field"] == field


@pytest.mark.parametrize(
    ("dimensions", "code"),
    [
        (10**12, "DIMENSIONS_TOO_LARGE"),
        ("99999999x99999999", "DIMENSIONS_TOO_LARGE"),
        ("32768x32768", "REQUEST_TOO_LARGE"),
        ([2**63, 1], "DIMENSIONS_TOO_LARGE"),
        ("9" * 5000, "DIMENSIONS_TOO_LARGE"),
        (0, "INVALID_REQUEST"),
        (-512, "INVALID_REQUEST"),
        ("512x", "INVALID_REQUEST"),
        (True, "INVALID_REQUEST"),
    ],
)
def test_huge_or_bad_dimensions(
    guarded: FlaskClient, dimensions: Any, code: str
) -> None:
    answer = guarded.post("/", json={**ELEVATION_REQUEST, "dimensions": dimensions})

    assert answer.status_code == 400, answer.get_data(as_text=True)
    assert answer.get_json()["error"]["code"] == code


@pytest.mark.parametrize(
    "name",
    [
        "renders/\u202egnp.exe",  # right-to-left override
        "renders/a\u200b.png",  # zero-width space
        "renders/a\u2028b.png",  # line separator
        "renders/a\x00.png",  # NUL
        "renders/\uff0e\uff0e/secret.png",  # full-width dots
        "renders\uff0f\uff0e\uff0e\uff0fsecret.png",  # full-width solidus and dots
        "renders/\ufeffa.png",  # byte order mark
        "renders/\U000e0041.png",  # tag character
        "renders/../" + "x" * 10,
        "x" * 1025,
    ],
)
def test_unicode_tricks_in_object_names(guarded: FlaskClient, name: str) -> None:
    request = {
        **ELEVATION_REQUEST,
        "delivery": "store",
        "destination": {"object": name},
    }

    error = expect(guarded.post("/", json=request), 400, "INVALID_DESTINATION")
    assert error["field"] == "/destination/object"


def test_lone_surrogate_object_name(guarded: FlaskClient) -> None:
    # JSON can escape half a surrogate pair; the body is refused before any check.
    request = {
        **ELEVATION_REQUEST,
        "delivery": "store",
        "destination": {"object": "renders/a\udfff.png"},
    }

    expect(guarded.post("/", json=request), 400, "INVALID_UTF8")


def test_bucket_outside_list(guarded: FlaskClient) -> None:
    request = {
        **ELEVATION_REQUEST,
        "delivery": "store",
        "destination": {"bucket": "someone-elses-bucket", "object": "a.png"},
    }

    error = expect(guarded.post("/", json=request), 403, "BUCKET_NOT_ALLOWED")
    assert error["field"] == "/destination/bucket"


@pytest.mark.parametrize(
    "query",
    [
        "dimensions=64&dimensions=128",
        "bands=elevation&bands=elevation",
        "request={encoded}&request={encoded}",
        "destination.bucket=renders&destination.bucket=other",
    ],
)
def test_repeated_query_parameters(guarded: FlaskClient, query: str) -> None:
    encoded = encode_request(ELEVATION_REQUEST)

    answer = guarded.get("/?" + query.format(encoded=encoded))

    assert answer.status_code == 400, answer.get_data(as_text=True)
    assert "more than once" in answer.get_json()["error"]["message"] or (
        "times" in answer.get_json()["error"]["message"]
    )


@pytest.mark.parametrize(
    "query",
    [
        "response=json%0d%0aX-Injected:%201",
        "response=redirect%00",
        "expression=%7B%7D%0d%0aLocation:%20https://evil.example",
        "request=%%%",
        "request=" + "A" * 10,
    ],
)
def test_header_and_encoding_tricks_in_query(guarded: FlaskClient, query: str) -> None:
    answer = guarded.get("/?" + query)

    assert answer.status_code == 400, answer.get_data(as_text=True)
    assert "X-Injected" not in answer.headers
    assert "Location" not in answer.headers


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_other_methods(guarded: FlaskClient, method: str) -> None:
    answer = guarded.open("/", method=method, json=ELEVATION_REQUEST)

    expect(answer, 405, "METHOD_NOT_ALLOWED")


@pytest.mark.parametrize(
    "body",
    [b"", b"null", b"[]", b'"expression"', b"1e999", b"{}", b'{"expression": null}'],
)
def test_empty_and_non_object_bodies(guarded: FlaskClient, body: bytes) -> None:
    answer = post_raw(guarded, body)

    assert answer.status_code == 400, answer.get_data(as_text=True)


def test_huge_asset_id(make_client: MakeClient, standin_control: str) -> None:
    client = make_client(RENDER_ALLOWED_ASSET_PREFIXES="NASA")
    expression = {
        "result": "0",
        "values": {
            "0": {
                "functionInvocationValue": {
                    "functionName": "Image.load",
                    "arguments": {"id": {"constantValue": "USGS/" + "x" * (5 * MIB)}},
                }
            }
        },
    }

    answer = client.post("/", json={"expression": expression})

    error = expect(answer, 403, "ASSET_NOT_ALLOWED")
    assert len(error["value"]) < 300
    assert ee_calls(standin_control) == 0


def test_chunked_body_over_limit(live: Any) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"filenamePrefix": "'
        for _ in range(11):
            yield b"x" * MIB
        yield b'"}'

    answer = requests.post(
        live.function_url,
        data=chunks(),
        headers={"Content-Type": "application/json"},
        timeout=60,
    )

    assert answer.status_code == 413, answer.text[:300]
    assert answer.json()["error"]["code"] == "REQUEST_TOO_LARGE"


def test_content_length_over_limit_on_wire(live: Any) -> None:
    answer = requests.post(
        live.function_url,
        data=b"{}" + b" " * (10 * MIB + 10),
        headers={"Content-Type": "application/json"},
        timeout=60,
    )

    assert answer.status_code == 413
