"""Routes, ids, authentication and project checks of the stand-in, over HTTP."""

from __future__ import annotations

import json
import re
import socket
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from conftest import FAKE_PNG, TEST_TOKEN

from standin import discovery
from standin.server import StandinServer, project_number

AUTH = {"Authorization": f"Bearer {TEST_TOKEN}"}
EXPRESSION = {
    "result": "0",
    "values": {
        "0": {
            "functionInvocationValue": {
                "functionName": "Image.load",
                "arguments": {"id": {"constantValue": "USGS/SRTMGL1_003"}},
            }
        }
    },
}
THUMBNAIL = {
    "expression": EXPRESSION,
    "fileFormat": "PNG",
    "filenamePrefix": None,
    "bandIds": [],
}
THUMBNAIL_NAME = re.compile(r"^projects/p/thumbnails/[0-9a-f]{32}-[0-9a-f]{32}$")
TIMEOUT = 30


@pytest.fixture
def server(start_standin: Any) -> StandinServer:
    return start_standin()


def create_thumbnail(base_url: str, path: str = "/v1/projects/p/thumbnails") -> str:
    response = requests.post(
        base_url + path,
        params={"fields": "name"},
        json=THUMBNAIL,
        headers=AUTH,
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    return response.json()["name"]


def assert_error(response: requests.Response, code: int, status: str) -> str:
    assert response.status_code == code, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["status"] == status
    assert error["message"]
    return error["message"]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_health_ok(server: StandinServer) -> None:
    response = requests.get(server.url + "/_standin/health", timeout=TIMEOUT)
    assert response.status_code == 200


@pytest.mark.parametrize("version", discovery.API_VERSIONS)
def test_discovery_paths_use_requested_version(
    server: StandinServer, version: str
) -> None:
    response = requests.get(
        server.url + "/$discovery/rest",
        params={"version": version, "prettyPrint": "false"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200
    document = response.json()
    projects = document["resources"]["projects"]
    thumbnails = projects["resources"]["thumbnails"]["methods"]

    assert document["version"] == version
    assert thumbnails["create"]["path"] == f"{version}/{{+parent}}/thumbnails"
    assert thumbnails["getPixels"]["path"] == f"{version}/{{+name}}:getPixels"
    assert "workloadTag" in thumbnails["create"]["parameters"]
    assert (
        "workloadTag"
        in projects["resources"]["image"]["methods"]["computePixels"]["parameters"]
    )
    assert (
        "workloadTag"
        in projects["resources"]["value"]["methods"]["compute"]["parameters"]
    )
    assert projects["methods"]["getConfig"]["path"] == f"{version}/{{+name}}"
    regional = projects["resources"]["locations"]["resources"]["thumbnails"]
    assert regional["methods"]["create"]["path"] == f"{version}/{{+parent}}/thumbnails"
    assert document["rootUrl"] == server.url + "/"


def test_discovery_unknown_version_not_found(server: StandinServer) -> None:
    response = requests.get(
        server.url + "/$discovery/rest", params={"version": "v2"}, timeout=TIMEOUT
    )
    assert_error(response, 404, "NOT_FOUND")


def test_algorithms_list_genuine_signatures(server: StandinServer) -> None:
    response = requests.get(
        server.url + "/v1/projects/p/algorithms",
        params={"prettyPrint": "false", "alt": "json"},
        headers=AUTH,
        timeout=TIMEOUT,
    )
    assert response.status_code == 200
    algorithms = {item["name"]: item for item in response.json()["algorithms"]}

    assert len(algorithms) > 900
    assert all(name.startswith("algorithms/") for name in algorithms)
    image_load = algorithms["algorithms/Image.load"]
    assert image_load["returnType"].startswith("Image")
    assert [a["argumentName"] for a in image_load["arguments"]] == ["id", "version"]


def test_create_fields_name_returns_only_name(server: StandinServer) -> None:
    response = requests.post(
        server.url + "/v1/projects/p/thumbnails",
        params={"fields": "name", "alt": "json"},
        json=THUMBNAIL,
        headers=AUTH,
        timeout=TIMEOUT,
    )
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["name"]
    assert THUMBNAIL_NAME.match(body["name"])


def test_create_without_fields_echoes_resource(server: StandinServer) -> None:
    response = requests.post(
        server.url + "/v1/projects/p/thumbnails",
        json=THUMBNAIL,
        headers=AUTH,
        timeout=TIMEOUT,
    )
    assert response.status_code == 200
    body = response.json()
    assert THUMBNAIL_NAME.match(body["name"])
    assert body["expression"] == EXPRESSION
    assert body["fileFormat"] == "PNG"
    assert body["bandIds"] == []
    # Unset fields are left out, as in canonical JSON.
    assert "filenamePrefix" not in body


def test_create_ids_are_unique(server: StandinServer) -> None:
    names = {create_thumbnail(server.url) for _ in range(5)}
    assert len(names) == 5


@pytest.mark.parametrize("version", discovery.API_VERSIONS)
def test_create_regional_then_get_pixels(server: StandinServer, version: str) -> None:
    name = create_thumbnail(
        server.url, f"/{version}/projects/p/locations/us-central1/thumbnails"
    )
    assert THUMBNAIL_NAME.match(name)

    response = requests.get(f"{server.url}/{version}/{name}:getPixels", timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.content == FAKE_PNG


def test_get_pixels_streams_bytes(server: StandinServer) -> None:
    name = create_thumbnail(server.url)
    response = requests.get(f"{server.url}/v1/{name}:getPixels", timeout=TIMEOUT)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["Content-Length"] == str(len(FAKE_PNG))
    assert response.content == FAKE_PNG


def test_get_pixels_ignores_api_key(server: StandinServer) -> None:
    name = create_thumbnail(server.url)
    response = requests.get(
        f"{server.url}/v1/{name}:getPixels", params={"key": "any-key"}, timeout=TIMEOUT
    )
    assert response.status_code == 200


def test_get_pixels_unknown_id_not_found(server: StandinServer) -> None:
    url = f"{server.url}/v1/projects/p/thumbnails/{'0' * 32}-{'1' * 32}:getPixels"
    message = assert_error(requests.get(url, timeout=TIMEOUT), 404, "NOT_FOUND")
    assert "0" * 32 in message


def test_get_pixels_other_project_not_found(server: StandinServer) -> None:
    name = create_thumbnail(server.url)
    other = name.replace("projects/p/", "projects/other/")
    response = requests.get(f"{server.url}/v1/{other}:getPixels", timeout=TIMEOUT)
    assert_error(response, 404, "NOT_FOUND")


def test_thumbnail_expires_after_ttl(start_standin: Any) -> None:
    clock = FakeClock()
    server = start_standin(thumbnail_ttl=60, clock=clock)
    name = create_thumbnail(server.url)
    url = f"{server.url}/v1/{name}:getPixels"

    clock.now += 59.9
    assert requests.get(url, timeout=TIMEOUT).status_code == 200
    clock.now += 0.1
    assert_error(requests.get(url, timeout=TIMEOUT), 404, "NOT_FOUND")


def test_create_engine_rejection_is_returned(server: StandinServer) -> None:
    response = requests.post(
        server.url + "/v1/projects/p/thumbnails",
        json={**THUMBNAIL, "fileFormat": "BAD"},
        headers=AUTH,
        timeout=TIMEOUT,
    )
    message = assert_error(response, 400, "INVALID_ARGUMENT")
    assert message == "Invalid value for fileFormat: BAD."


def test_create_unknown_field_rejected(server: StandinServer) -> None:
    response = requests.post(
        server.url + "/v1/projects/p/thumbnails",
        json={**THUMBNAIL, "size": 512},
        headers=AUTH,
        timeout=TIMEOUT,
    )
    message = assert_error(response, 400, "INVALID_ARGUMENT")
    assert 'Unknown name "size"' in message


@pytest.mark.parametrize(
    "path",
    [
        "/v1/projects/p/thumbnails",
        "/v1/projects/p/image:computePixels",
        "/v1/projects/p/value:compute",
    ],
)
def test_bad_json_invalid_argument(server: StandinServer, path: str) -> None:
    response = requests.post(
        server.url + path,
        data=b'{"expression": ',
        headers={**AUTH, "Content-Type": "application/json"},
        timeout=TIMEOUT,
    )
    message = assert_error(response, 400, "INVALID_ARGUMENT")
    assert message.startswith("Invalid JSON payload received.")


def test_json_array_body_rejected(server: StandinServer) -> None:
    response = requests.post(
        server.url + "/v1/projects/p/thumbnails",
        json=[1, 2],
        headers=AUTH,
        timeout=TIMEOUT,
    )
    assert_error(response, 400, "INVALID_ARGUMENT")


def test_body_over_10_mib_rejected(server: StandinServer) -> None:
    padding = "x" * (10 * 1024 * 1024)
    response = requests.post(
        server.url + "/v1/projects/p/thumbnails",
        data=json.dumps({**THUMBNAIL, "filenamePrefix": padding}),
        headers={**AUTH, "Content-Type": "application/json"},
        timeout=TIMEOUT,
    )
    message = assert_error(response, 400, "INVALID_ARGUMENT")
    assert message == "Request payload size exceeds the limit: 10485760 bytes."


def test_body_at_10_mib_accepted(server: StandinServer) -> None:
    body = json.dumps({**THUMBNAIL, "filenamePrefix": ""})
    padded = body[:-1] + " " * (10 * 1024 * 1024 - len(body)) + "}"
    assert len(padded) == 10 * 1024 * 1024
    response = requests.post(
        server.url + "/v1/projects/p/thumbnails",
        data=padded,
        headers={**AUTH, "Content-Type": "application/json"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text


def test_connection_reused_after_oversized_body(server: StandinServer) -> None:
    with requests.Session() as session:
        too_large = session.post(
            server.url + "/v1/projects/p/value:compute",
            data=b" " * (10 * 1024 * 1024 + 1),
            headers=AUTH,
            timeout=TIMEOUT,
        )
        after = session.post(
            server.url + "/v1/projects/p/value:compute",
            json={"expression": EXPRESSION},
            headers=AUTH,
            timeout=TIMEOUT,
        )
    assert too_large.status_code == 400
    assert after.status_code == 200


def test_compute_pixels_returns_bytes(server: StandinServer) -> None:
    response = requests.post(
        server.url + "/v1/projects/p/image:computePixels",
        json={"expression": EXPRESSION, "fileFormat": "NPY", "workloadTag": "t"},
        headers=AUTH,
        timeout=TIMEOUT,
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.content.startswith(b"\x93NUMPY")


def test_value_compute_wraps_result(server: StandinServer) -> None:
    response = requests.post(
        server.url + "/v1beta/projects/p/value:compute",
        params={"prettyPrint": "false"},
        json={"expression": EXPRESSION},
        headers=AUTH,
        timeout=TIMEOUT,
    )
    assert response.status_code == 200
    assert response.json() == {"result": {"expression": EXPRESSION}}


def test_config_registered(server: StandinServer) -> None:
    response = requests.get(
        server.url + "/v1/projects/p/config", headers=AUTH, timeout=TIMEOUT
    )
    assert response.status_code == 200
    assert response.json() == {
        "name": "projects/p/config",
        "registrationState": "REGISTERED_NOT_COMMERCIALLY",
    }


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/projects/p/nothing"),
        ("GET", "/v3/projects/p/algorithms"),
        ("GET", "/v1/projects/p/thumbnails"),
        ("PUT", "/v1/projects/p/thumbnails"),
        ("GET", "/"),
    ],
)
def test_unknown_path_not_found(server: StandinServer, method: str, path: str) -> None:
    response = requests.request(
        method, server.url + path, headers=AUTH, timeout=TIMEOUT
    )
    message = assert_error(response, 404, "NOT_FOUND")
    assert message == "Method not found."


AUTHENTICATED = [
    ("GET", "/v1/projects/p/algorithms", None),
    ("POST", "/v1/projects/p/thumbnails", THUMBNAIL),
    ("POST", "/v1/projects/p/locations/europe-west1/thumbnails", THUMBNAIL),
    ("POST", "/v1/projects/p/image:computePixels", {"expression": EXPRESSION}),
    ("POST", "/v1/projects/p/value:compute", {"expression": EXPRESSION}),
    ("GET", "/v1/projects/p/config", None),
]


@pytest.mark.parametrize(("method", "path", "body"), AUTHENTICATED)
def test_missing_bearer_unauthenticated(
    server: StandinServer, method: str, path: str, body: Any
) -> None:
    response = requests.request(method, server.url + path, json=body, timeout=TIMEOUT)
    message = assert_error(response, 401, "UNAUTHENTICATED")
    assert message.startswith("Request is missing required authentication credential.")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "path", "body"), AUTHENTICATED)
def test_any_bearer_accepted_by_default(
    server: StandinServer, method: str, path: str, body: Any
) -> None:
    response = requests.request(
        method,
        server.url + path,
        json=body,
        headers={"Authorization": "Bearer whatever"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text


def test_access_token_parameter_accepted(server: StandinServer) -> None:
    response = requests.get(
        server.url + "/v1/projects/p/config",
        params={"access_token": "t"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200


def test_basic_auth_is_not_a_bearer(server: StandinServer) -> None:
    response = requests.get(
        server.url + "/v1/projects/p/config",
        auth=("user", "password"),
        timeout=TIMEOUT,
    )
    assert_error(response, 401, "UNAUTHENTICATED")


def test_required_token_checked(start_standin: Any) -> None:
    server = start_standin(require_token="secret")
    url = server.url + "/v1/projects/p/algorithms"

    wrong = requests.get(
        url, headers={"Authorization": "Bearer other"}, timeout=TIMEOUT
    )
    right = requests.get(
        url, headers={"Authorization": "Bearer secret"}, timeout=TIMEOUT
    )

    message = assert_error(wrong, 401, "UNAUTHENTICATED")
    assert message.startswith("Request had invalid authentication credentials.")
    assert right.status_code == 200


def test_discovery_and_get_pixels_need_no_token(start_standin: Any) -> None:
    server = start_standin(require_token="secret")
    name = create_thumbnail_with_token(server.url, "secret")

    assert requests.get(server.url + "/$discovery/rest", timeout=TIMEOUT).ok
    assert requests.get(f"{server.url}/v1/{name}:getPixels", timeout=TIMEOUT).ok


def create_thumbnail_with_token(base_url: str, token: str) -> str:
    response = requests.post(
        base_url + "/v1/projects/p/thumbnails",
        params={"fields": "name"},
        json=THUMBNAIL,
        headers={"Authorization": f"Bearer {token}"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    return response.json()["name"]


@pytest.mark.parametrize(
    ("header", "named_project"),
    [({}, "p"), ({"X-Goog-User-Project": "someone-else"}, "someone-else")],
)
def test_user_project_mismatch_denied(
    start_standin: Any, header: dict[str, str], named_project: str
) -> None:
    server = start_standin(check_user_project=True)
    response = requests.post(
        server.url + "/v1/projects/p/thumbnails",
        json=THUMBNAIL,
        headers={**AUTH, **header},
        timeout=TIMEOUT,
    )
    message = assert_error(response, 403, "PERMISSION_DENIED")
    assert message.startswith(
        f"Caller does not have required permission to use project {named_project}."
    )
    assert "roles/serviceusage.serviceUsageConsumer" in message


def test_user_project_match_accepted(start_standin: Any) -> None:
    server = start_standin(check_user_project=True)
    response = requests.post(
        server.url + "/v1/projects/p/thumbnails",
        json=THUMBNAIL,
        headers={**AUTH, "X-Goog-User-Project": "p"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200


PROJECT_STATE_MESSAGES = {
    "not-registered": (
        "Project p is not registered to use Earth Engine. Visit"
        " https://code.earthengine.google.com/register?project=p to register your"
        " project. See https://developers.google.com/earth-engine/guides/access for"
        " more details."
    ),
    "api-disabled": (
        f"Google Earth Engine API has not been used in project {project_number('p')}"
        " before or it is disabled. Enable it by visiting"
        " https://console.developers.google.com/apis/api/earthengine.googleapis.com"
        f"/overview?project={project_number('p')} then retry."
    ),
    "no-serviceusage": (
        "Caller does not have required permission to use project p. Grant the caller"
        " the roles/serviceusage.serviceUsageConsumer role, or a custom role with the"
        " serviceusage.services.use permission, by visiting"
        " https://console.developers.google.com/iam-admin/iam/project?project=p and"
        " then retry. Propagation of the new permission may take a few minutes."
    ),
}


@pytest.mark.parametrize("state", sorted(PROJECT_STATE_MESSAGES))
@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/projects/p/thumbnails", THUMBNAIL),
        ("/v1/projects/p/image:computePixels", {"expression": EXPRESSION}),
        ("/v1/projects/p/value:compute", {"expression": EXPRESSION}),
    ],
)
def test_project_state_denies_compute(
    start_standin: Any, state: str, path: str, body: Any
) -> None:
    server = start_standin(project_state=state)
    response = requests.post(
        server.url + path, json=body, headers=AUTH, timeout=TIMEOUT
    )
    message = assert_error(response, 403, "PERMISSION_DENIED")
    assert message.startswith(PROJECT_STATE_MESSAGES[state])


def test_not_registered_config_says_so(start_standin: Any) -> None:
    server = start_standin(project_state="not-registered")
    response = requests.get(
        server.url + "/v1/projects/p/config", headers=AUTH, timeout=TIMEOUT
    )
    assert response.status_code == 200
    assert response.json()["registrationState"] == "NOT_REGISTERED"


def test_project_state_error_details(start_standin: Any) -> None:
    server = start_standin(project_state="api-disabled")
    response = requests.post(
        server.url + "/v1/projects/p/thumbnails",
        json=THUMBNAIL,
        headers=AUTH,
        timeout=TIMEOUT,
    )
    details = response.json()["error"]["details"]
    reasons = [detail.get("reason") for detail in details]
    assert "SERVICE_DISABLED" in reasons


def test_project_number_numeric_kept() -> None:
    assert project_number("123456789012") == "123456789012"


def test_project_number_stable_twelve_digits() -> None:
    number = project_number("my-project")
    assert number == project_number("my-project")
    assert len(number) == 12
    assert number.isdigit()


def test_stats_count_calls_and_renders(server: StandinServer) -> None:
    name = create_thumbnail(server.url)
    for _ in range(2):
        requests.get(f"{server.url}/v1/{name}:getPixels", timeout=TIMEOUT)

    stats = requests.get(server.url + "/_standin/stats", timeout=TIMEOUT).json()
    assert stats["requests"]["thumbnails.create"] == 1
    assert stats["requests"]["thumbnails.getPixels"] == 2
    assert stats["responses"]["thumbnails.getPixels"] == {"200": 2}
    assert stats["engine_calls"] == {"check_thumbnail": 1, "render_thumbnail": 2}
    assert stats["thumbnails"] == 1


def test_concurrent_get_pixels(server: StandinServer) -> None:
    url = f"{server.url}/v1/{create_thumbnail(server.url)}:getPixels"

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(
            pool.map(lambda _: requests.get(url, timeout=TIMEOUT), range(24))
        )

    assert [response.status_code for response in responses] == [200] * 24
    assert all(response.content == FAKE_PNG for response in responses)
    stats = requests.get(server.url + "/_standin/stats", timeout=TIMEOUT).json()
    assert stats["engine_calls"]["render_thumbnail"] == 24


def test_stats_leave_out_control_routes(server: StandinServer) -> None:
    requests.get(server.url + "/_standin/health", timeout=TIMEOUT)
    stats = requests.get(server.url + "/_standin/stats", timeout=TIMEOUT).json()
    assert stats["requests"] == {}


def test_reset_clears_stats_faults_and_ids(server: StandinServer) -> None:
    name = create_thumbnail(server.url)
    requests.post(
        server.url + "/_standin/faults", json={"fault": "503"}, timeout=TIMEOUT
    )

    response = requests.post(server.url + "/_standin/reset", timeout=TIMEOUT)
    assert response.status_code == 200

    stats = requests.get(server.url + "/_standin/stats", timeout=TIMEOUT).json()
    pending = requests.get(server.url + "/_standin/faults", timeout=TIMEOUT).json()
    pixels = requests.get(f"{server.url}/v1/{name}:getPixels", timeout=TIMEOUT)
    assert stats["requests"] == {}
    assert stats["thumbnails"] == 0
    assert pending == {"faults": []}
    assert pixels.status_code == 404


def test_keep_alive_serves_several_requests(server: StandinServer) -> None:
    with socket.create_connection(
        ("127.0.0.1", server_port(server)), timeout=TIMEOUT
    ) as sock:
        request = b"GET /_standin/health HTTP/1.1\r\nHost: x\r\n\r\n"
        sock.sendall(request * 2)
        received = b""
        while received.count(b"HTTP/1.1 200") < 2:
            chunk = sock.recv(65536)
            assert chunk
            received += chunk


def test_malformed_request_line_json_error(server: StandinServer) -> None:
    with socket.create_connection(
        ("127.0.0.1", server_port(server)), timeout=TIMEOUT
    ) as sock:
        sock.sendall(b"GET /a b HTTP/1.1\r\nHost: x\r\n\r\n")
        received = read_until_closed(sock)
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400")
    assert json.loads(body)["error"]["code"] == 400


def server_port(server: StandinServer) -> int:
    return int(server.url.rsplit(":", 1)[1])


def read_until_closed(sock: socket.socket) -> bytes:
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received
