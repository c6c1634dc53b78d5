"""The HTTP function, driven through functions-framework against the real stand-ins."""

from __future__ import annotations

import base64
import io
import json
import uuid
from typing import Any
from urllib.parse import quote

import pytest
import requests
from flask.testing import FlaskClient
from PIL import Image

from local.demo import ELEVATION
from tests.http.conftest import MakeClient, add_fault, stats

SRTM = ELEVATION

ELEVATION_REQUEST: dict[str, Any] = {
    "expression": SRTM,
    "region": [70, 20, 100, 40],
    "dimensions": "300x200",
    "min": 0,
    "max": 6000,
    "palette": ["006633", "E5FFCC", "662A00", "D8D8D8", "F5F5F5"],
    "format": "png",
}


def fresh_store_request(**changes: Any) -> dict[str, Any]:
    """A store request no earlier test has made, so its object does not exist yet.

    The fake-gcs-server lives for the whole session; a random stretch maximum gives each
    caller a request hash, and so an object name, of its own. (A counter would not do:
    other test modules import this one, and each import has its own counter.)
    """
    return {
        **ELEVATION_REQUEST,
        "delivery": "store",
        "max": 6000 + uuid.uuid4().int % 10**9 / 10**9,
        **changes,
    }


def encode_request(request: dict[str, Any]) -> str:
    """Encode a request for the ``request`` query parameter: base64url, no padding."""
    return base64.urlsafe_b64encode(json.dumps(request).encode()).decode().rstrip("=")


def fetch_image(url: str) -> Image.Image:
    answer = requests.get(url, timeout=60)
    assert answer.status_code == 200, answer.text
    image = Image.open(io.BytesIO(answer.content))
    image.load()
    return image


def download(gcs_url: str, bucket: str, name: str) -> bytes:
    answer = requests.get(
        f"{gcs_url}/storage/v1/b/{bucket}/o/{quote(name, safe='')}?alt=media",
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return answer.content


def object_exists(gcs_url: str, bucket: str, name: str) -> bool:
    answer = requests.get(
        f"{gcs_url}/storage/v1/b/{bucket}/o/{quote(name, safe='')}", timeout=30
    )
    return answer.status_code == 200


# Redirect delivery


def test_redirect_points_at_pixels(client: FlaskClient, standin_control: str) -> None:
    answer = client.post("/", json=ELEVATION_REQUEST)

    assert answer.status_code == 302, answer.get_data(as_text=True)
    location = answer.headers["Location"]
    assert location.startswith(
        f"{standin_control}/v1/projects/local-project/thumbnails/"
    )
    assert location.endswith(":getPixels")
    assert answer.headers["Cache-Control"] == "private, max-age=600"
    image = fetch_image(location)
    assert image.format == "PNG"
    assert image.size == (300, 200)


def test_redirect_image_is_paletted_elevation(client: FlaskClient) -> None:
    answer = client.post("/", json=ELEVATION_REQUEST)
    image = fetch_image(answer.headers["Location"]).convert("RGB")

    # The Tibetan plateau (north-east of the frame) is above 4000 m: near the palette's
    # light end. The Ganges plain (south) is low: near its green start.
    plateau = image.getpixel((220, 40))
    plain = image.getpixel((120, 150))
    assert sum(plateau) > sum(plain)
    assert plain[1] >= plain[0]


def test_redirect_with_api_key(make_client: MakeClient) -> None:
    client = make_client(EE_API_KEY="key-123")
    answer = client.post("/", json=ELEVATION_REQUEST)

    assert answer.status_code == 302
    assert answer.headers["Location"].endswith(":getPixels?key=key-123")


def test_accept_json_gets_url(client: FlaskClient) -> None:
    answer = client.post(
        "/", json=ELEVATION_REQUEST, headers={"Accept": "application/json"}
    )

    assert answer.status_code == 200
    body = answer.get_json()
    assert body["url"].endswith(":getPixels")
    assert body["max_age"] == 600
    assert fetch_image(body["url"]).size == (300, 200)


def test_get_query_renders_as_img_src(client: FlaskClient) -> None:
    query = {
        "request": encode_request({"expression": SRTM}),
        "region": "70,20,100,40",
        "dimensions": "120x80",
        "min": "0",
        "max": "5000",
        "palette": "blue,green,white",
    }
    answer = client.get("/", query_string=query)

    assert answer.status_code == 302, answer.get_data(as_text=True)
    assert fetch_image(answer.headers["Location"]).size == (120, 80)


def test_missing_dimensions_gets_default(client: FlaskClient) -> None:
    request = {
        key: value for key, value in ELEVATION_REQUEST.items() if key != "dimensions"
    }
    answer = client.post("/", json=request, headers={"Accept": "application/json"})

    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json()["defaults_applied"] == {"dimensions": 1024}
    assert max(fetch_image(answer.get_json()["url"]).size) == 1024


# Store delivery


def test_store_writes_object_once(
    client: FlaskClient, standin_control: str, gcs_server: str
) -> None:
    request = fresh_store_request()
    first = client.post("/", json=request)

    assert first.status_code == 201, first.get_data(as_text=True)
    stored = first.get_json()
    assert stored["uri"] == f"gs://renders/{stored['object']}"
    assert stored["object"].startswith("renders/")
    assert stored["object"].endswith(".png")
    assert stored["content_type"] == "image/png"
    assert stored["newly_rendered"] is True
    assert stored["crc32c"]
    assert stored["metadata"]["rendered-by"] == "eerender"
    assert stored["metadata"]["format"] == "PNG"
    data = download(gcs_server, "renders", stored["object"])
    assert len(data) == stored["size"]
    assert Image.open(io.BytesIO(data)).size == (300, 200)

    second = client.post("/", json=request)

    assert second.status_code == 200
    assert second.get_json()["object"] == stored["object"]
    assert second.get_json()["newly_rendered"] is False
    assert stats(standin_control)["requests"]["thumbnails.create"] == 1


def test_store_same_request_other_spelling_reuses(client: FlaskClient) -> None:
    request = fresh_store_request()
    first = client.post("/", json=request)
    respelled = {
        **request,
        "palette": "#006633,#e5ffcc,#662a00,#d8d8d8,#f5f5f5",
        "dimensions": [300, 200],
    }
    second = client.post("/", json=respelled)

    assert first.status_code == 201
    assert second.status_code == 200
    assert second.get_json()["object"] == first.get_json()["object"]


def test_store_to_named_destination(client: FlaskClient, gcs_server: str) -> None:
    request = {
        **ELEVATION_REQUEST,
        "delivery": "store",
        "destination": {"bucket": "renders", "object": "named/himalaya.png"},
    }
    answer = client.post("/", json=request)

    assert answer.status_code == 201, answer.get_data(as_text=True)
    assert answer.get_json()["uri"] == "gs://renders/named/himalaya.png"
    assert object_exists(gcs_server, "renders", "named/himalaya.png")


def test_store_unlisted_bucket_rejected(
    client: FlaskClient, standin_control: str
) -> None:
    request = {
        **ELEVATION_REQUEST,
        "delivery": "store",
        "destination": {"bucket": "someone-elses-bucket"},
    }
    answer = client.post("/", json=request)

    assert answer.status_code == 403
    assert answer.get_json()["error"]["code"] == "BUCKET_NOT_ALLOWED"
    assert stats(standin_control)["requests"].get("thumbnails.create", 0) == 0


def test_store_retries_truncated_pixels(
    client: FlaskClient, standin_control: str, gcs_server: str
) -> None:
    add_fault(standin_control, method="thumbnails.getPixels", fault="truncate", count=1)
    answer = client.post("/", json=fresh_store_request())

    assert answer.status_code == 201, answer.get_data(as_text=True)
    data = download(gcs_server, "renders", answer.get_json()["object"])
    assert Image.open(io.BytesIO(data)).size == (300, 200)


def test_store_never_writes_truncated_image(
    make_client: MakeClient, standin_control: str, gcs_server: str
) -> None:
    client = make_client(EE_DEADLINE="5")
    add_fault(
        standin_control, method="thumbnails.getPixels", fault="truncate", count=10
    )
    request = {
        **ELEVATION_REQUEST,
        "delivery": "store",
        "destination": {"object": "truncated/never.png"},
    }
    answer = client.post("/", json=request)

    assert answer.status_code == 502, answer.get_data(as_text=True)
    assert answer.get_json()["error"]["code"] == "EE_INCOMPLETE_PIXELS"
    assert not object_exists(gcs_server, "renders", "truncated/never.png")


# Upstream failures


def test_ee_quota_becomes_429(make_client: MakeClient, standin_control: str) -> None:
    client = make_client(EE_MAX_ATTEMPTS="2", EE_DEADLINE="3")
    add_fault(
        standin_control, method="thumbnails.create", fault="429", count=5, retry_after=1
    )
    answer = client.post("/", json=ELEVATION_REQUEST)

    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "1"
    error = answer.get_json()["error"]
    assert error["code"] == "EE_BUSY"
    assert error["retryable"] is True
    assert error["upstream"]["status"] == 429
    assert "Quota exceeded" in error["upstream"]["message"]


def test_ee_503_retried_then_succeeds(
    client: FlaskClient, standin_control: str
) -> None:
    add_fault(standin_control, method="thumbnails.create", fault="503", count=2)
    answer = client.post("/", json=ELEVATION_REQUEST)

    assert answer.status_code == 302
    assert stats(standin_control)["requests"]["thumbnails.create"] == 3


def test_ee_reset_retried_then_succeeds(
    client: FlaskClient, standin_control: str
) -> None:
    add_fault(standin_control, method="thumbnails.create", fault="reset", count=1)
    answer = client.post("/", json=ELEVATION_REQUEST)

    assert answer.status_code == 302


def test_ee_500_persisting_becomes_502(
    make_client: MakeClient, standin_control: str
) -> None:
    client = make_client(EE_MAX_ATTEMPTS="2")
    add_fault(standin_control, method="thumbnails.create", fault="500", count=5)
    answer = client.post("/", json=ELEVATION_REQUEST)

    assert answer.status_code == 502
    assert answer.get_json()["error"]["upstream"]["status"] == 500


def test_ee_slow_answer_times_out_as_504(
    make_client: MakeClient, standin_control: str
) -> None:
    client = make_client(EE_READ_TIMEOUT="0.5", EE_MAX_ATTEMPTS="1")
    add_fault(
        standin_control, method="thumbnails.create", fault="slow", delay_seconds=2
    )
    answer = client.post("/", json=ELEVATION_REQUEST)

    assert answer.status_code == 504
    assert answer.get_json()["error"]["code"] == "EE_TIMEOUT"


def test_ee_unknown_asset_is_client_error(
    client: FlaskClient, standin_control: str
) -> None:
    expression = json.loads(
        json.dumps(SRTM).replace("USGS/SRTMGL1_003", "USERS/x/none")
    )
    answer = client.post("/", json={**ELEVATION_REQUEST, "expression": expression})

    assert answer.status_code == 400
    error = answer.get_json()["error"]
    assert error["code"] == "ASSET_NOT_FOUND"
    assert error["upstream"]["status"] == 400
    assert "USERS/x/none" in error["upstream"]["message"]
    assert stats(standin_control)["requests"]["thumbnails.create"] == 1


# Input errors answered before Earth Engine is called


@pytest.mark.parametrize(
    ("body", "content_type", "code"),
    [
        (b"{not json", "application/json", "INVALID_JSON"),
        (b"\xff\xfe{}", "application/json", "INVALID_UTF8"),
        (b'{"expression": NaN}', "application/json", "INVALID_JSON"),
        (
            b"expression=1",
            "application/x-www-form-urlencoded",
            "UNSUPPORTED_CONTENT_TYPE",
        ),
        (b"[]", "application/json", "INVALID_REQUEST"),
    ],
)
def test_malformed_body_rejected(
    client: FlaskClient, standin_control: str, body: bytes, content_type: str, code: str
) -> None:
    answer = client.post("/", data=body, content_type=content_type)

    assert answer.status_code == 400
    assert answer.get_json()["error"]["code"] == code
    assert stats(standin_control)["requests"].get("thumbnails.create", 0) == 0


def test_body_over_limit_is_413(make_client: MakeClient) -> None:
    client = make_client(RENDER_MAX_BODY_BYTES="2048")
    answer = client.post(
        "/", data=b"{" + b" " * 4096 + b"}", content_type="application/json"
    )

    assert answer.status_code == 413
    assert answer.get_json()["error"]["limit"] == 2048


def test_method_not_allowed(client: FlaskClient) -> None:
    answer = client.delete("/")

    assert answer.status_code == 405
    assert answer.get_json()["error"]["code"] == "METHOD_NOT_ALLOWED"


def test_palette_with_three_bands_rejected(client: FlaskClient) -> None:
    request = {**ELEVATION_REQUEST, "bands": ["elevation", "elevation", "elevation"]}
    answer = client.post("/", json=request)

    assert answer.status_code == 400
    assert answer.get_json()["error"]["code"] == "PALETTE_NEEDS_SINGLE_BAND"


def test_grid_too_large_never_redirects(
    client: FlaskClient, standin_control: str
) -> None:
    request = {**ELEVATION_REQUEST, "region": [-180, -60, 180, 60], "scale": 30}
    request.pop("dimensions")
    answer = client.post("/", json=request)

    assert answer.status_code == 400
    error = answer.get_json()["error"]
    assert error["code"] in ("DIMENSIONS_TOO_LARGE", "REQUEST_TOO_LARGE")
    assert "Location" not in answer.headers
    assert stats(standin_control)["requests"].get("thumbnails.create", 0) == 0


def test_missing_project_is_configuration_error(
    make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client()
    monkeypatch.delenv("EE_PROJECT")
    answer = client.post("/", json=ELEVATION_REQUEST)

    assert answer.status_code == 503
    error = answer.get_json()["error"]
    assert error["code"] == "INVALID_CONFIGURATION"
    assert "EE_PROJECT" in error["message"]


# CORS


def test_preflight_from_allowed_origin(client: FlaskClient) -> None:
    answer = client.options(
        "/",
        headers={
            "Origin": "http://localhost:8000",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )

    assert answer.status_code == 204
    assert answer.headers["Access-Control-Allow-Origin"] == "http://localhost:8000"
    assert "POST" in answer.headers["Access-Control-Allow-Methods"]
    assert "Content-Type" in answer.headers["Access-Control-Allow-Headers"]
    assert answer.headers["Access-Control-Max-Age"] == "3600"


def test_preflight_from_other_origin_refused(client: FlaskClient) -> None:
    answer = client.options(
        "/",
        headers={
            "Origin": "https://evil.example",
            "Access-Control-Request-Method": "POST",
        },
    )

    assert answer.status_code == 403
    assert "Access-Control-Allow-Origin" not in answer.headers


def test_errors_carry_cors_headers(client: FlaskClient) -> None:
    answer = client.post(
        "/",
        data=b"{",
        content_type="application/json",
        headers={"Origin": "http://localhost:8000"},
    )

    assert answer.status_code == 400
    assert answer.headers["Access-Control-Allow-Origin"] == "http://localhost:8000"


# Logs


def test_logs_hold_no_token_or_key(
    make_client: MakeClient, capsys: pytest.CaptureFixture[str]
) -> None:
    client = make_client(EE_API_KEY="secret-key-123")
    client.post("/", json=ELEVATION_REQUEST)
    client.post("/", json={**ELEVATION_REQUEST, "delivery": "store"})

    output = capsys.readouterr()
    logged = output.out + output.err
    assert "thumbnails.create" in logged
    assert "local-token" not in logged
    assert "secret-key-123" not in logged
    for line in output.out.splitlines():
        if line.startswith("{"):
            assert "severity" in json.loads(line)


def test_identical_redirects_reuse_thumbnail(
    client: FlaskClient, standin_control: str
) -> None:
    first = client.post("/", json=ELEVATION_REQUEST)
    second = client.post("/", json=ELEVATION_REQUEST)

    assert first.headers["Location"] == second.headers["Location"]
    assert stats(standin_control)["requests"]["thumbnails.create"] == 1


def test_thumbnail_cache_can_be_turned_off(
    make_client: MakeClient, standin_control: str
) -> None:
    client = make_client(THUMBNAIL_CACHE_SECONDS="0")
    client.post("/", json=ELEVATION_REQUEST)
    client.post("/", json=ELEVATION_REQUEST)

    assert stats(standin_control)["requests"]["thumbnails.create"] == 2


@pytest.mark.parametrize(
    ("accept", "status"),
    [
        ("*/*", 302),
        ("image/avif,image/webp,image/*,*/*;q=0.8", 302),
        ("application/json", 200),
        ("application/json, text/plain, */*", 200),
        ("image/png;q=1, application/json;q=0.5", 302),
    ],
)
def test_accept_header_chooses_answer(
    client: FlaskClient, accept: str, status: int
) -> None:
    answer = client.post("/", json=ELEVATION_REQUEST, headers={"Accept": accept})

    assert answer.status_code == status


def test_response_json_option(client: FlaskClient) -> None:
    query = {"request": encode_request(ELEVATION_REQUEST), "response": "json"}
    answer = client.get("/", query_string=query)

    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json()["url"].endswith(":getPixels")


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({"request": "***"}, "INVALID_BASE64"),
        ({"request": "aGVsbG8"}, "INVALID_JSON"),
        ({"request": "WzFd"}, "INVALID_REQUEST"),
        ({"response": "xml", "request": "e30"}, "INVALID_REQUEST"),
    ],
)
def test_bad_query_rejected(
    client: FlaskClient, query: dict[str, str], code: str
) -> None:
    answer = client.get("/", query_string=query)

    assert answer.status_code == 400
    assert answer.get_json()["error"]["code"] == code


def test_query_field_given_twice_rejected(client: FlaskClient) -> None:
    query = {"request": encode_request(ELEVATION_REQUEST), "min": "5"}
    answer = client.get("/", query_string=query)

    assert answer.status_code == 400
    assert answer.get_json()["error"]["field"] == "/min"


def test_deeply_nested_body_rejected(client: FlaskClient) -> None:
    body = b'{"expression": ' + b"[" * 100000 + b"]" * 100000 + b"}"
    answer = client.post("/", data=body, content_type="application/json")

    assert answer.status_code == 400
    assert answer.get_json()["error"]["code"] in ("INVALID_JSON", "INVALID_EXPRESSION")


def test_store_without_format_is_png(client: FlaskClient) -> None:
    request = fresh_store_request()
    request.pop("format")
    answer = client.post("/", json=request)

    assert answer.status_code == 201, answer.get_data(as_text=True)
    assert answer.get_json()["object"].endswith(".png")
    assert answer.get_json()["defaults_applied"] == {"format": "PNG"}


def test_slow_answer_bounded_by_deadline(
    make_client: MakeClient, standin_control: str
) -> None:
    # The read timeout (120 s) is longer than the render's deadline (2 s): the deadline
    # wins, so the caller gets our 504 rather than the platform ending the request.
    client = make_client(EE_DEADLINE="2", EE_MAX_ATTEMPTS="1")
    add_fault(
        standin_control, method="thumbnails.create", fault="slow", delay_seconds=6
    )
    answer = client.post("/", json=ELEVATION_REQUEST)

    assert answer.status_code == 504
    assert answer.get_json()["error"]["code"] == "EE_TIMEOUT"


def test_lone_surrogate_escape_rejected(
    client: FlaskClient, standin_control: str
) -> None:
    body = json.dumps({**ELEVATION_REQUEST, "crs": "CRS"}).replace("CRS", "\\ud800")
    answer = client.post("/", data=body, content_type="application/json")

    assert answer.status_code == 400
    assert answer.get_json()["error"]["code"] == "INVALID_UTF8"
    assert stats(standin_control)["requests"].get("thumbnails.create", 0) == 0


def test_huge_value_not_echoed(client: FlaskClient) -> None:
    answer = client.post("/", json={**ELEVATION_REQUEST, "format": "x" * 2_000_000})

    assert answer.status_code == 400
    assert len(answer.get_data()) < 5000


def test_response_json_with_recipe_query(client: FlaskClient) -> None:
    query = {"recipe": "elevation", "bbox": "10,45,11,46", "response": "json"}
    answer = client.get("/", query_string=query)

    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json()["url"].endswith(":getPixels")


def test_request_id_echoed_and_in_errors(client: FlaskClient) -> None:
    given = client.post(
        "/", json=ELEVATION_REQUEST, headers={"X-Request-Id": "abc-123"}
    )
    failed = client.post("/", data=b"{", content_type="application/json")

    assert given.headers["X-Request-Id"] == "abc-123"
    request_id = failed.headers["X-Request-Id"]
    assert len(request_id) == 32
    assert failed.get_json()["error"]["request_id"] == request_id


def test_unsafe_request_id_replaced(client: FlaskClient) -> None:
    answer = client.post(
        "/", json=ELEVATION_REQUEST, headers={"X-Request-Id": "evil\tvalue<script>"}
    )

    assert answer.headers["X-Request-Id"] != "evil\tvalue<script>"
