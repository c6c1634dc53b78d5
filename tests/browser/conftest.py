"""Headless Chromium, test pages on two origins, and the HTTP function they call.

Chromium comes from Debian's packages: when ``chromium`` is missing and the tests run
as root, ``tests/browser/install_chromium.sh`` installs it with apt-get (about 40 s,
once). Without root the browser tests are skipped with the command to run.

The function runs twice under functions-framework against one set of stand-ins:
open (HTTP_AUTH_MODES=iam, which checks nothing in code) and link-only
(HTTP_AUTH_MODES=signed-link). CORS_ALLOWED_ORIGINS names the first page server's
origin only, so the second page server is the other origin.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from local import stack

INSTALL_SCRIPT = Path(__file__).with_name("install_chromium.sh")
LINK_KEY_ID = "browser"
LINK_SECRET = "browser-link-secret-" + "k" * 32
# Milliseconds of virtual page time Chromium lets pass before it prints the DOM. Time
# stands still while requests are open, and the page writes its results long before.
VIRTUAL_TIME_BUDGET_MS = 20_000
CHROMIUM_TIMEOUT = 120
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-proxy-server",
)
_RESULTS = re.compile(r'<pre id="results">(.*?)</pre>', re.DOTALL)


class PageServer:
    """Serves HTML pages registered by path from one origin on 127.0.0.1."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def origin(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> PageServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        pages = self.pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                page = pages.get(self.path)
                status = HTTPStatus.OK if page is not None else HTTPStatus.NOT_FOUND
                body = (page or "not found").encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the tests read the page's results instead

        return Handler


@dataclass(frozen=True)
class BrowserStack:
    """The open and the link-only function, and the two page origins."""

    open_url: str
    link_url: str
    allowed: PageServer
    other: PageServer


@pytest.fixture(scope="session")
def chromium() -> str:
    """Return the path of Debian's chromium, installing it first when missing."""
    path = shutil.which("chromium")
    if path is not None:
        return path
    if os.geteuid() != 0:
        pytest.skip(f"chromium is missing; run {INSTALL_SCRIPT} as root")
    subprocess.run([str(INSTALL_SCRIPT)], check=True, timeout=900)
    path = shutil.which("chromium")
    assert path is not None, f"{INSTALL_SCRIPT} ran but chromium is not on PATH"
    return path


@pytest.fixture(scope="module")
def browser_stack() -> Iterator[BrowserStack]:
    with PageServer() as allowed, PageServer() as other:
        cors = {"CORS_ALLOWED_ORIGINS": allowed.origin}
        with stack.running(**cors) as running:
            link_env = {
                **running.env,
                "HTTP_AUTH_MODES": "signed-link",
                "HTTP_LINK_KEYS": f"{LINK_KEY_ID}:{LINK_SECRET}",
            }
            link_function = stack.function(stack.free_port(), "render_http", link_env)
            link_function.start()
            try:
                yield BrowserStack(
                    running.function_url, link_function.url, allowed, other
                )
            finally:
                link_function.stop()


def run_page(chromium: str, url: str) -> dict[str, Any]:
    """Load ``url`` in headless Chromium and return the JSON the page wrote.

    The page writes its results into ``<pre id="results">``; ``--dump-dom`` prints
    the DOM once the page and its requests have finished.
    """
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        command = [
            chromium,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--virtual-time-budget={VIRTUAL_TIME_BUDGET_MS}",
            "--dump-dom",
            url,
        ]
        finished = subprocess.run(
            command, capture_output=True, text=True, timeout=CHROMIUM_TIMEOUT
        )
    match = _RESULTS.search(finished.stdout)
    assert match is not None, (
        f"chromium exited with {finished.returncode} and no results; "
        f"stdout: {finished.stdout[-2000:]!r} stderr: {finished.stderr[-2000:]!r}"
    )
    results: dict[str, Any] = json.loads(html.unescape(match.group(1)))
    return results
