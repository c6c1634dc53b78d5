"""Injected faults as a plain `requests` client and a raw socket see them."""

from __future__ import annotations

import socket
from typing import Any

import pytest
import requests
from conftest import FAKE_PNG, TEST_TOKEN

from standin.server import StandinServer

AUTH = {"Authorization": f"Bearer {TEST_TOKEN}"}
EXPRESSION = {"result": "0", "values": {"0": {"constantValue": 1}}}
THUMBNAIL = {"expression": EXPRESSION, "fileFormat": "PNG"}
TIMEOUT = 30


@pytest.fixture
def server(start_standin: Any) -> StandinServer:
    return start_standin()


def add_fault(server: StandinServer, **fault: Any) -> requests.Response:
    return requests.post(server.url + "/_standin/faults", json=fault, timeout=TIMEOUT)


def create(server: StandinServer, **headers: str) -> requests.Response:
    return requests.post(
        server.url + "/v1/projects/p/thumbnails",
        params={"fields": "name"},
        json=THUMBNAIL,
        headers={**AUTH, **headers},
        timeout=TIMEOUT,
    )


def pixels_url(server: StandinServer) -> str:
    response = create(server)
    assert response.status_code == 200, response.text
    return f"{server.url}/v1/{response.json()['name']}:getPixels"


def compute_value(server: StandinServer) -> requests.Response:
    return requests.post(
        server.url + "/v1/projects/p/value:compute",
        json={"expression": EXPRESSION},
        headers=AUTH,
        timeout=TIMEOUT,
    )


def server_address(server: StandinServer) -> tuple[str, int]:
    host, port = server.url.removeprefix("http://").split(":")
    return host, int(port)


def stats(server: StandinServer) -> dict[str, Any]:
    return requests.get(server.url + "/_standin/stats", timeout=TIMEOUT).json()


def test_quota_fault_429_with_retry_after(server: StandinServer) -> None:
    assert (
        add_fault(
            server, method="thumbnails.create", fault="429", retry_after=7
        ).status_code
        == 200
    )

    response = create(server)

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    error = response.json()["error"]
    assert error["status"] == "RESOURCE_EXHAUSTED"
    assert error["message"].startswith("Quota exceeded for quota metric")
    assert "earthengine.googleapis.com" in error["message"]


@pytest.mark.parametrize(
    ("fault", "status"), [("500", "INTERNAL"), ("503", "UNAVAILABLE")]
)
def test_server_error_faults(server: StandinServer, fault: str, status: str) -> None:
    add_fault(server, method="value.compute", fault=fault)

    response = compute_value(server)

    assert response.status_code == int(fault)
    error = response.json()["error"]
    assert error["code"] == int(fault)
    assert error["status"] == status
    assert error["message"]


def test_fault_applies_to_next_count_requests(server: StandinServer) -> None:
    add_fault(server, method="value.compute", fault="503", count=2)

    statuses = [compute_value(server).status_code for _ in range(3)]

    assert statuses == [503, 503, 200]


def test_fault_skips_other_methods(server: StandinServer) -> None:
    add_fault(server, method="image.computePixels", fault="500")

    assert compute_value(server).status_code == 200
    assert create(server).status_code == 200
    pending = requests.get(server.url + "/_standin/faults", timeout=TIMEOUT).json()
    assert len(pending["faults"]) == 1


def test_faults_used_in_order(server: StandinServer) -> None:
    add_fault(server, fault="500")
    add_fault(server, fault="503")

    assert compute_value(server).status_code == 500
    assert compute_value(server).status_code == 503
    assert compute_value(server).status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/projects/p/algorithms"),
        ("GET", "/v1/projects/p/config"),
        ("POST", "/v1/projects/p/image:computePixels"),
    ],
)
def test_any_method_fault_matches(
    server: StandinServer, method: str, path: str
) -> None:
    add_fault(server, method="*", fault="503")

    response = requests.request(
        method,
        server.url + path,
        json={"expression": EXPRESSION},
        headers=AUTH,
        timeout=TIMEOUT,
    )

    assert response.status_code == 503


def test_any_method_fault_spares_discovery(server: StandinServer) -> None:
    add_fault(server, method="*", fault="503")

    response = requests.get(server.url + "/$discovery/rest", timeout=TIMEOUT)

    assert response.status_code == 200
    assert compute_value(server).status_code == 503


def test_unauthenticated_request_keeps_fault(server: StandinServer) -> None:
    add_fault(server, method="value.compute", fault="503")

    anonymous = requests.post(
        server.url + "/v1/projects/p/value:compute", json={}, timeout=TIMEOUT
    )

    assert anonymous.status_code == 401
    assert compute_value(server).status_code == 503


def test_list_and_clear_faults(server: StandinServer) -> None:
    add_fault(server, method="thumbnails.getPixels", fault="truncate", count=3)

    listed = requests.get(server.url + "/_standin/faults", timeout=TIMEOUT).json()
    cleared = requests.delete(server.url + "/_standin/faults", timeout=TIMEOUT)
    after = requests.get(server.url + "/_standin/faults", timeout=TIMEOUT).json()

    assert listed["faults"] == [
        {
            "fault": "truncate",
            "method": "thumbnails.getPixels",
            "count": 3,
            "delay_seconds": 2.0,
            "retry_after": 1,
        }
    ]
    assert cleared.status_code == 200
    assert after == {"faults": []}


def test_slow_fault_delays_response(server: StandinServer) -> None:
    add_fault(server, method="value.compute", fault="slow", delay_seconds=3)

    # The client gives up long before the delay ends, which proves the delay
    # without timing the server.
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.post(
            server.url + "/v1/projects/p/value:compute",
            json={"expression": EXPRESSION},
            headers=AUTH,
            timeout=0.5,
        )
    assert compute_value(server).status_code == 200


def test_slow_fault_then_normal_answer(server: StandinServer) -> None:
    add_fault(server, method="value.compute", fault="slow", delay_seconds=0.2)

    response = compute_value(server)

    assert response.status_code == 200
    assert stats(server)["faults"] == {"slow": 1}


def test_reset_fault_connection_error(server: StandinServer) -> None:
    url = pixels_url(server)
    add_fault(server, method="thumbnails.getPixels", fault="reset")

    with pytest.raises(requests.exceptions.ConnectionError) as caught:
        requests.get(url, timeout=TIMEOUT)

    assert "reset" in str(caught.value).lower()
    assert requests.get(url, timeout=TIMEOUT).status_code == 200


def test_reset_fault_sends_rst(server: StandinServer) -> None:
    add_fault(server, method="value.compute", fault="reset")
    body = b'{"expression": {"result": "0", "values": {}}}'
    request = (
        b"POST /v1/projects/p/value:compute HTTP/1.1\r\nHost: x\r\n"
        + f"Authorization: Bearer {TEST_TOKEN}\r\n".encode()
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )

    with socket.create_connection(server_address(server), timeout=TIMEOUT) as sock:
        sock.sendall(request)
        # A FIN would read as b"", but an RST raises.
        with pytest.raises(ConnectionResetError):
            sock.recv(65536)


def test_truncate_fault_incomplete_body(server: StandinServer) -> None:
    url = pixels_url(server)
    add_fault(server, method="thumbnails.getPixels", fault="truncate")

    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(url, timeout=TIMEOUT)


def test_truncate_fault_sends_half_body(server: StandinServer) -> None:
    path = pixels_url(server).removeprefix(server.url)
    add_fault(server, method="thumbnails.getPixels", fault="truncate")

    with socket.create_connection(server_address(server), timeout=TIMEOUT) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")

    assert f"Content-Length: {len(FAKE_PNG)}".encode() in head
    assert body == FAKE_PNG[: len(FAKE_PNG) // 2]


def test_expired_fault_drops_id(server: StandinServer) -> None:
    url = pixels_url(server)
    add_fault(server, method="thumbnails.getPixels", fault="expired")

    first = requests.get(url, timeout=TIMEOUT)
    second = requests.get(url, timeout=TIMEOUT)

    assert first.status_code == 404
    assert first.json()["error"]["status"] == "NOT_FOUND"
    assert second.status_code == 404


def test_expired_fault_with_any_method_waits(server: StandinServer) -> None:
    add_fault(server, method="*", fault="expired")
    url = pixels_url(server)

    assert compute_value(server).status_code == 200
    assert requests.get(url, timeout=TIMEOUT).status_code == 404


def test_expired_fault_needs_get_pixels(server: StandinServer) -> None:
    response = add_fault(server, method="thumbnails.create", fault="expired")

    assert response.status_code == 400
    assert "thumbnails.getPixels" in response.json()["error"]["message"]


def test_header_fault_applies_once(server: StandinServer) -> None:
    faulted = create(server, **{"X-Standin-Fault": "503"})
    normal = create(server)

    assert faulted.status_code == 503
    assert normal.status_code == 200


def test_header_fault_with_parameters(server: StandinServer) -> None:
    quota = create(server, **{"X-Standin-Fault": "429;retry_after=4"})
    slow = create(server, **{"X-Standin-Fault": "slow;delay=0.1"})

    assert quota.status_code == 429
    assert quota.headers["Retry-After"] == "4"
    assert slow.status_code == 200


def test_header_fault_leaves_queue(server: StandinServer) -> None:
    add_fault(server, method="thumbnails.create", fault="500")

    by_header = create(server, **{"X-Standin-Fault": "503"})
    queued = create(server)

    assert by_header.status_code == 503
    assert queued.status_code == 500


def test_header_reset_on_get_pixels(server: StandinServer) -> None:
    url = pixels_url(server)

    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(url, headers={"X-Standin-Fault": "reset"}, timeout=TIMEOUT)


@pytest.mark.parametrize(
    "header", ["teapot", "slow;delay=abc", "slow;pause=1", "slow;delay"]
)
def test_invalid_header_fault_rejected(server: StandinServer, header: str) -> None:
    response = create(server, **{"X-Standin-Fault": header})

    assert response.status_code == 400
    assert response.json()["error"]["status"] == "INVALID_ARGUMENT"


def test_header_expired_on_create_rejected(server: StandinServer) -> None:
    response = create(server, **{"X-Standin-Fault": "expired"})

    assert response.status_code == 400


@pytest.mark.parametrize(
    "fault",
    [
        {"fault": "boom"},
        {"fault": "503", "method": "maps.create"},
        {"fault": "503", "count": 0},
        {"fault": "slow", "delay_seconds": -1},
        {"fault": "slow", "delay_seconds": 10_000},
        {"fault": "503", "count": "2"},
        {"fault": "503", "colour": "red"},
        {},
    ],
)
def test_invalid_fault_request_rejected(
    server: StandinServer, fault: dict[str, Any]
) -> None:
    response = add_fault(server, **fault)

    assert response.status_code == 400
    assert response.json()["error"]["status"] == "INVALID_ARGUMENT"


def test_fault_request_not_json_rejected(server: StandinServer) -> None:
    response = requests.post(
        server.url + "/_standin/faults", data=b"[", timeout=TIMEOUT
    )

    assert response.status_code == 400


def test_stats_count_faulted_requests(server: StandinServer) -> None:
    add_fault(server, method="value.compute", fault="503")
    compute_value(server)
    compute_value(server)

    counts = stats(server)

    assert counts["requests"]["value.compute"] == 2
    assert counts["responses"]["value.compute"] == {"503": 1, "200": 1}
    assert counts["engine_calls"] == {"compute_value": 1}
    assert counts["faults"] == {"503": 1}


def test_stats_count_reset_responses(server: StandinServer) -> None:
    add_fault(server, method="value.compute", fault="reset")
    with pytest.raises(requests.exceptions.ConnectionError):
        compute_value(server)

    assert stats(server)["responses"]["value.compute"] == {"reset": 1}
