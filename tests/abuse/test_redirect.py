"""Redirects point only at Earth Engine or allowed buckets, whatever EE returns."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient

from tests.http.conftest import MakeClient
from tests.http.test_render_http import ELEVATION_REQUEST


class HostileEarthEngine:
    """An Earth Engine stand-in that returns the thumbnail name a test sets."""

    def __init__(self) -> None:
        self.thumbnail_name = "projects/local-project/thumbnails/plain"
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                body = json.dumps({"name": owner.thumbnail_name}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def hostile_ee() -> Iterator[HostileEarthEngine]:
    server = HostileEarthEngine()
    yield server
    server.close()


@pytest.fixture
def hostile_client(
    make_client: MakeClient, hostile_ee: HostileEarthEngine
) -> FlaskClient:
    return make_client(EE_API_URL=hostile_ee.url, THUMBNAIL_CACHE_SECONDS="0")


def test_plain_name_redirects_to_engine(
    hostile_client: FlaskClient, hostile_ee: HostileEarthEngine
) -> None:
    answer = hostile_client.post("/", json=ELEVATION_REQUEST)

    assert answer.status_code == 302
    assert answer.headers["Location"].startswith(hostile_ee.url + "/v1/projects/")


@pytest.mark.parametrize(
    "name",
    [
        "https://evil.example/thumbnails/x",
        "//evil.example/thumbnails/x",
        "@evil.example/thumbnails/x",
        "projects/p/thumbnails/../../../../evil.example",
    ],
)
def test_host_in_name_stays_on_engine_host(
    hostile_client: FlaskClient, hostile_ee: HostileEarthEngine, name: str
) -> None:
    hostile_ee.thumbnail_name = name

    answer = hostile_client.post("/", json=ELEVATION_REQUEST)

    assert answer.status_code == 302
    location = urlsplit(answer.headers["Location"])
    assert f"{location.scheme}://{location.netloc}" == hostile_ee.url


@pytest.mark.parametrize(
    "name",
    [
        "projects/p/thumbnails/x\r\nLocation: https://evil.example",
        "projects/p/thumbnails/x\\@evil.example",
        "projects/p/thumbnails/x\tevil",
        "projects/p/thumbnails/ x",
    ],
)
def test_smuggled_host_not_redirected(
    hostile_client: FlaskClient, hostile_ee: HostileEarthEngine, name: str
) -> None:
    hostile_ee.thumbnail_name = name

    answer = hostile_client.post("/", json=ELEVATION_REQUEST)

    assert answer.status_code == 503
    assert answer.get_json()["error"]["code"] == "REDIRECT_NOT_ALLOWED"
    assert "Location" not in answer.headers
    assert "evil" not in answer.get_data(as_text=True)
