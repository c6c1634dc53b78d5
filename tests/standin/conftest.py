"""Fixtures that run the Earth Engine stand-in on a free loopback port.

- `standin_url`: the real `python -m standin` in a subprocess, for the whole session.
  It needs `standin.engine` and is skipped while that module is absent.
- `start_standin`: an in-process server with any ServerConfig and engine, by
  default `FakeEngine`, so that the protocol can be tested apart from evaluation.
- `ee_connect`: a context manager that initializes the official client against a
  stand-in URL with a made-up bearer token and resets the client afterwards.
- `ee_client`: the `ee` module initialized against `standin_url` for one test module.
- `fetch`: a GET of a URL the client returned, such as a getThumbURL link.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pathlib
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import pytest
import requests

from standin.errors import invalid_argument
from standin.server import ServerConfig, StandinServer

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
STANDIN_DATA_DIR = REPO_ROOT / ".cache" / "standin-data"
STARTUP_TIMEOUT_SECONDS = 60
# A first install downloads packages from the registries.
DATA_INSTALL_TIMEOUT_SECONDS = 1800
# Seconds a test waits for one stand-in response; renders take well under one.
HTTP_TIMEOUT_SECONDS = 60
TEST_TOKEN = "standin-test-token"
EE_PROJECT = "standin-project"

# The `fetch` fixture's type.
Fetch = Callable[[str], requests.Response]

# Bytes that start like a PNG file. The server treats pixels as opaque bytes.
FAKE_PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 256


class FakeEngine:
    """Evaluation engine with fixed results, for protocol tests.

    check_thumbnail rejects a body without an expression or with fileFormat
    "BAD", the way the real engine rejects invalid input.
    """

    def check_thumbnail(self, body: dict[str, Any]) -> None:
        if "expression" not in body:
            raise invalid_argument("Thumbnail.expression: missing.")
        if body.get("fileFormat") == "BAD":
            raise invalid_argument("Invalid value for fileFormat: BAD.")

    def render_thumbnail(self, body: dict[str, Any]) -> tuple[bytes, str]:
        return FAKE_PNG, "image/png"

    def compute_pixels(self, body: dict[str, Any]) -> tuple[bytes, str]:
        return b"\x93NUMPY" + bytes(64), "application/octet-stream"

    def compute_value(self, body: dict[str, Any]) -> object:
        return {"expression": body.get("expression")}


@pytest.fixture
def start_standin() -> Iterator[Callable[..., StandinServer]]:
    """Return a function that starts an in-process server and closes it after the test.

    Keyword arguments are ServerConfig fields, plus `engine` and `clock`.
    """
    servers: list[StandinServer] = []

    def start(
        engine: Any = None, clock: Callable[[], float] | None = None, **config: Any
    ) -> StandinServer:
        options = {"clock": clock} if clock is not None else {}
        server = StandinServer(
            ServerConfig(host="127.0.0.1", port=0, **config),
            engine or FakeEngine(),
            **options,
        )
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture(scope="session")
def standin_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start `python -m standin --port 0` for the session and yield its base URL."""
    if importlib.util.find_spec("standin.engine") is None:
        pytest.skip("standin.engine is not available yet")
    install_standin_data()
    log_path = tmp_path_factory.mktemp("standin") / "standin.log"
    arguments = ["--data-dir", str(STANDIN_DATA_DIR)]
    with start_standin_process(arguments, log_path) as standin:
        yield standin.url


def install_standin_data() -> None:
    """Install the stand-in's Earth data into .cache/standin-data.

    The install command is idempotent, so after the first run it only checks
    that the files are there.
    """
    subprocess.run(
        [
            sys.executable,
            "-m",
            "standin.datasets",
            "install",
            "--dir",
            str(STANDIN_DATA_DIR),
        ],
        cwd=REPO_ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
        timeout=DATA_INSTALL_TIMEOUT_SECONDS,
    )


@dataclass
class StandinProcess:
    url: str
    process: subprocess.Popen[str]
    log_path: pathlib.Path


@contextlib.contextmanager
def start_standin_process(
    arguments: list[str],
    log_path: pathlib.Path,
    extra_environment: dict[str, str] | None = None,
) -> Iterator[StandinProcess]:
    """Run `python -m standin` on a free port and stop it at exit.

    STANDIN_* variables of the test run are not passed on, so only `arguments`
    and `extra_environment` configure the server. Its JSON request log goes to
    `log_path`.
    """
    command = [
        sys.executable,
        "-m",
        "standin",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        *arguments,
    ]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("STANDIN_")}
    environment.update(extra_environment or {})
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
    try:
        yield StandinProcess(_wait_for_url(process, log_path), process, log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        if process.stdout:
            process.stdout.close()


def _wait_for_url(process: subprocess.Popen[str], log_path: pathlib.Path) -> str:
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    stdout = process.stdout
    threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
    try:
        line = lines.get(timeout=STARTUP_TIMEOUT_SECONDS)
    except queue.Empty:
        line = ""
    prefix = "standin listening on "
    if not line.startswith(prefix):
        process.kill()
        raise RuntimeError(
            f"python -m standin did not start: stdout {line!r}, log:\n"
            + log_path.read_text()
        )
    return line.removeprefix(prefix).strip()


@pytest.fixture(scope="session")
def ee_connect() -> Callable[[str], contextlib.AbstractContextManager[Any]]:
    """Return a context manager that yields the `ee` module initialized against a URL.

    The client gets a static bearer token, because the stand-in requires one, and
    project "standin-project". Its start-up fetch of the deprecated-asset catalog
    is disabled, because it would go to Cloud Storage.
    """

    @contextlib.contextmanager
    def connect(base_url: str) -> Iterator[Any]:
        import ee
        import google.oauth2.credentials

        ee.deprecation._FetchDataCatalogStac = lambda: {}
        credentials = google.oauth2.credentials.Credentials(token=TEST_TOKEN)
        # Reset even when Initialize fails, because the client keeps the last
        # credentials it was given and would reuse them on the next Initialize.
        try:
            ee.Initialize(credentials=credentials, url=base_url, project=EE_PROJECT)
            yield ee
        finally:
            ee.Reset()

    return connect


@pytest.fixture(scope="module")
def ee_client(
    standin_url: str,
    ee_connect: Callable[[str], contextlib.AbstractContextManager[Any]],
) -> Iterator[Any]:
    """Yield the `ee` module initialized against the session's `python -m standin`."""
    with ee_connect(standin_url) as ee:
        yield ee


@pytest.fixture(scope="session")
def fetch() -> Fetch:
    """Return a function that GETs a URL without credentials and checks for 200.

    Clients fetch getThumbURL and getDownloadURL links without a token, and so
    does this function.
    """

    def get(url: str) -> requests.Response:
        response = requests.get(url, timeout=HTTP_TIMEOUT_SECONDS)
        assert response.status_code == HTTPStatus.OK, response.text
        return response

    return get
