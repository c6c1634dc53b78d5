"""Per-caller rate limits and the pixel budget of the HTTP function."""

from __future__ import annotations

import json
import time

from eerender import auth
from eerender.ratelimit import RateLimiter
from tests.abuse.conftest import ee_calls
from tests.http.conftest import MakeClient
from tests.http.test_render_http import ELEVATION_REQUEST

KEY_A = "a" * 40
KEY_B = "b" * 40


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_burst_then_waits() -> None:
    clock = FakeClock()
    limiter = RateLimiter(per_minute=60, burst=3, clock=clock)

    waits = [limiter.take("caller") for _ in range(4)]

    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3] == 1.0


def test_bucket_refills_over_time() -> None:
    clock = FakeClock()
    limiter = RateLimiter(per_minute=60, burst=1, clock=clock)
    limiter.take("caller")

    clock.now += 0.5
    half = limiter.take("caller")
    clock.now += 1.0
    refilled = limiter.take("caller")

    assert half == 0.5
    assert refilled == 0.0


def test_buckets_are_per_caller() -> None:
    limiter = RateLimiter(per_minute=60, burst=1, clock=FakeClock())

    assert limiter.take("a") == 0.0
    assert limiter.take("b") == 0.0
    assert limiter.take("a") > 0


def test_forgotten_caller_gets_full_bucket() -> None:
    limiter = RateLimiter(per_minute=60, burst=1, clock=FakeClock(), max_callers=2)
    limiter.take("a")
    limiter.take("b")
    limiter.take("c")

    assert limiter.take("a") == 0.0


def test_http_limit_returns_429(make_client: MakeClient, standin_control: str) -> None:
    client = make_client(HTTP_RATE_LIMIT="1", HTTP_RATE_BURST="2")

    answers = [client.post("/", json=ELEVATION_REQUEST) for _ in range(3)]

    assert [answer.status_code for answer in answers[:2]] == [302, 302]
    assert answers[2].status_code == 429
    error = answers[2].get_json()["error"]
    assert error["code"] == "RATE_LIMITED"
    assert error["retryable"] is True
    assert int(answers[2].headers["Retry-After"]) >= 1
    assert ee_calls(standin_control) == 1  # the second render reused the thumbnail


def test_forwarded_for_spoofing_shares_bucket(make_client: MakeClient) -> None:
    client = make_client(HTTP_RATE_LIMIT="1", HTTP_RATE_BURST="1")

    first = client.post(
        "/", json=ELEVATION_REQUEST, headers={"X-Forwarded-For": "1.1.1.1, 203.0.113.9"}
    )
    spoofed = client.post(
        "/", json=ELEVATION_REQUEST, headers={"X-Forwarded-For": "9.9.9.9, 203.0.113.9"}
    )
    other = client.post(
        "/", json=ELEVATION_REQUEST, headers={"X-Forwarded-For": "203.0.113.10"}
    )

    assert first.status_code == 302
    assert spoofed.status_code == 429
    assert other.status_code == 302


def test_two_proxy_hops(make_client: MakeClient) -> None:
    client = make_client(
        HTTP_RATE_LIMIT="1", HTTP_RATE_BURST="1", HTTP_TRUSTED_PROXY_HOPS="2"
    )
    headers = {"X-Forwarded-For": "203.0.113.9, 198.51.100.1"}

    first = client.post("/", json=ELEVATION_REQUEST, headers=headers)
    same_client = client.post(
        "/",
        json=ELEVATION_REQUEST,
        headers={"X-Forwarded-For": "203.0.113.9, 10.0.0.2"},
    )

    assert first.status_code == 302
    assert same_client.status_code == 429


def test_hmac_keys_have_own_buckets(make_client: MakeClient) -> None:
    client = make_client(
        HTTP_AUTH_MODES="hmac",
        HTTP_HMAC_KEYS=f"a:{KEY_A},b:{KEY_B}",
        HTTP_RATE_LIMIT="1",
        HTTP_RATE_BURST="1",
    )
    body = json.dumps(ELEVATION_REQUEST).encode()

    def post(key: str) -> int:
        headers = auth.sign_request("POST", b"", body, key, int(time.time()))
        answer = client.post(
            "/", data=body, content_type="application/json", headers=headers
        )
        return answer.status_code

    assert [post(KEY_A), post(KEY_A), post(KEY_B)] == [302, 429, 302]


def test_unauthenticated_requests_are_counted(make_client: MakeClient) -> None:
    client = make_client(HTTP_RATE_LIMIT="1", HTTP_RATE_BURST="1")

    invalid = client.post("/", json={"expression": 1})
    limited = client.post("/", json=ELEVATION_REQUEST)

    assert invalid.status_code == 400
    assert limited.status_code == 429


def test_iam_caller_named_by_token_claims(make_client: MakeClient) -> None:
    client = make_client(HTTP_RATE_LIMIT="1", HTTP_RATE_BURST="1")

    def bearer(email: str) -> dict[str, str]:
        claims = json.dumps({"email": email}).encode()
        payload = auth.base64.urlsafe_b64encode(claims).decode().rstrip("=")
        return {"Authorization": f"Bearer e30.{payload}.sig"}

    first = client.post("/", json=ELEVATION_REQUEST, headers=bearer("a@x.example"))
    again = client.post("/", json=ELEVATION_REQUEST, headers=bearer("a@x.example"))
    other = client.post("/", json=ELEVATION_REQUEST, headers=bearer("b@x.example"))

    assert [first.status_code, again.status_code, other.status_code] == [302, 429, 302]


def test_pixel_budget_rejects_large_output(
    make_client: MakeClient, standin_control: str
) -> None:
    client = make_client(HTTP_MAX_PIXELS="50000")

    small = client.post("/", json={**ELEVATION_REQUEST, "dimensions": "200x100"})
    large = client.post("/", json={**ELEVATION_REQUEST, "dimensions": "300x200"})

    assert small.status_code == 302
    assert large.status_code == 400
    error = large.get_json()["error"]
    assert error["code"] == "PIXEL_BUDGET_EXCEEDED"
    assert error["limit"] == 50000
    assert error["field"] == "/dimensions"
    assert ee_calls(standin_control) == 1


def test_pixel_budget_without_region(make_client: MakeClient) -> None:
    client = make_client(HTTP_MAX_PIXELS="50000")
    request = {"expression": ELEVATION_REQUEST["expression"]}

    default = client.post("/", json=request)
    by_scale = client.post("/", json={**request, "scale": 1000})

    assert default.status_code == 400  # the default 1024 px side is over the budget
    assert by_scale.status_code == 400
    assert by_scale.get_json()["error"]["field"] == "/scale"
