"""`python -m standin` as a process: options, environment, log lines and shutdown."""

from __future__ import annotations

import json
import pathlib
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest
import requests
from conftest import (
    REPO_ROOT,
    STANDIN_DATA_DIR,
    StandinProcess,
    install_standin_data,
    start_standin_process,
)

TIMEOUT = 60
TOKEN = "process-token"
SRTM_THUMBNAIL = {
    "expression": {
        "result": "0",
        "values": {
            "0": {
                "functionInvocationValue": {
                    "functionName": "Image.clipToBoundsAndScale",
                    "arguments": {
                        "input": {
                            "functionInvocationValue": {
                                "functionName": "Image.load",
                                "arguments": {
                                    "id": {"constantValue": "USGS/SRTMGL1_003"}
                                },
                            }
                        },
                        "geometry": {
                            "functionInvocationValue": {
                                "functionName": "GeometryConstructors.Rectangle",
                                "arguments": {
                                    "coordinates": {"constantValue": [6, 45, 8, 47]},
                                    "geodesic": {"constantValue": False},
                                },
                            }
                        },
                        "width": {"constantValue": 16},
                        "height": {"constantValue": 16},
                    },
                }
            }
        },
    },
    "fileFormat": "NPY",
}


@pytest.fixture(scope="module")
def data_dir() -> pathlib.Path:
    pytest.importorskip("standin.engine")
    install_standin_data()
    return STANDIN_DATA_DIR


@pytest.fixture(scope="module")
def strict_process(
    data_dir: pathlib.Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StandinProcess]:
    """A stand-in with ids that expire at once, one accepted token and the
    quota-project check on."""
    log_path = tmp_path_factory.mktemp("strict") / "standin.log"
    arguments = [
        "--data-dir", str(data_dir), "--thumbnail-ttl", "0",
        "--require-token", TOKEN, "--check-user-project",
    ]  # fmt: skip
    with start_standin_process(arguments, log_path) as standin:
        yield standin


def headers(token: str = TOKEN, user_project: str = "p") -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "X-Goog-User-Project": user_project}


def create(standin: StandinProcess, **header_values: str) -> requests.Response:
    return requests.post(
        standin.url + "/v1/projects/p/thumbnails",
        params={"fields": "name"},
        json=SRTM_THUMBNAIL,
        headers=headers(**header_values),
        timeout=TIMEOUT,
    )


def test_process_health(strict_process: StandinProcess) -> None:
    response = requests.get(strict_process.url + "/_standin/health", timeout=TIMEOUT)

    assert response.status_code == 200


def test_process_zero_ttl_expires_ids(strict_process: StandinProcess) -> None:
    created = create(strict_process)
    assert created.status_code == 200, created.text

    name = created.json()["name"]
    pixels = requests.get(f"{strict_process.url}/v1/{name}:getPixels", timeout=TIMEOUT)

    assert pixels.status_code == 404


def test_process_require_token(strict_process: StandinProcess) -> None:
    response = create(strict_process, token="another-token")

    assert response.status_code == 401


def test_process_checks_user_project(strict_process: StandinProcess) -> None:
    response = create(strict_process, user_project="q")

    assert response.status_code == 403
    assert "use project q" in response.json()["error"]["message"]


def test_process_computes_pixels(strict_process: StandinProcess) -> None:
    body = {key: SRTM_THUMBNAIL[key] for key in ("expression", "fileFormat")}
    response = requests.post(
        strict_process.url + "/v1/projects/p/image:computePixels",
        json=body,
        headers=headers(),
        timeout=TIMEOUT,
    )

    assert response.status_code == 200, response.text
    assert response.content.startswith(b"\x93NUMPY")


def test_process_logs_json_per_request(strict_process: StandinProcess) -> None:
    # The server logs a request after sending its response. A second request on
    # the same connection is read by the same thread, so once it has a response the
    # first one's line is in the log.
    with requests.Session() as session:
        session.get(
            strict_process.url + "/v1/projects/p/config",
            params={"key": "secret-api-key"},
            headers=headers(),
            timeout=TIMEOUT,
        )
        session.get(strict_process.url + "/v1/projects/p/algorithms", timeout=TIMEOUT)
        session.get(strict_process.url + "/_standin/health", timeout=TIMEOUT)
    log_lines = strict_process.log_path.read_text().splitlines()
    entries = [json.loads(line) for line in log_lines]
    config_entries = [e for e in entries if e.get("api_method") == "projects.getConfig"]

    denied = [e for e in entries if e.get("api_method") == "algorithms.list"]

    assert config_entries
    assert config_entries[-1]["status"] == 200
    assert config_entries[-1]["path"] == "/v1/projects/p/config"
    assert config_entries[-1]["error"] is None
    assert denied[-1]["status"] == 401
    assert denied[-1]["error"].startswith("Request is missing required authentication")
    assert all("secret-api-key" not in json.dumps(entry) for entry in entries)
    assert all(TOKEN not in json.dumps(entry) for entry in entries)


def test_process_state_from_environment(
    data_dir: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    arguments = ["--data-dir", str(data_dir)]
    environment = {"STANDIN_PROJECT_STATE": "no-serviceusage"}

    with start_standin_process(
        arguments, tmp_path / "standin.log", environment
    ) as standin:
        response = create(standin)

    assert response.status_code == 403
    assert response.json()["error"]["status"] == "PERMISSION_DENIED"


def test_process_stops_on_sigterm(
    data_dir: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    arguments = ["--data-dir", str(data_dir)]

    with start_standin_process(arguments, tmp_path / "standin.log") as standin:
        standin.process.send_signal(signal.SIGTERM)
        exit_code = standin.process.wait(timeout=TIMEOUT)

    assert exit_code == 0


def run_cli(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "standin", *arguments],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def test_help_lists_options() -> None:
    result = run_cli("--help")

    assert result.returncode == 0
    for option in ("--thumbnail-ttl", "--require-token", "--check-user-project",
                   "--project-state", "--data-dir"):  # fmt: skip
        assert option in result.stdout


def test_invalid_project_state_rejected() -> None:
    result = run_cli("--project-state", "banned")

    assert result.returncode == 2
    assert "--project-state" in result.stderr
