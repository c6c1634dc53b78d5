"""The HTTP function with a fault in front of every service it calls.

Earth Engine faults are queued in the stand-in itself (``POST /_standin/faults``).
Cloud Storage and signBlob have no fault control, so each is reached through a
``FaultProxy``: STORAGE_EMULATOR_HOST points at the proxy in front of the session's
fake-gcs-server, and IAM_CREDENTIALS_URL at the proxy in front of the signBlob
stand-in. Time-outs and deadlines are short so that a fault that persists ends a
request within seconds.
"""

from __future__ import annotations

import base64
import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import google_crc32c
import pytest
import requests
from flask.testing import FlaskClient
from functions_framework import create_app
from PIL import Image

from eerender.config import Settings
from eerender.request import parse_render_request
from local import stack
from local.demo import ELEVATION as SRTM
from local.iam_standin import IamStandin
from tests.faults.fault_proxy import FaultProxy

SIGNER = "render-fn@local-project.iam.gserviceaccount.com"
TIMEOUT = 30
# The stand-in's slow response and the proxies' stall outlast the 1 s read time-out.
SLOW_SECONDS = 2.0
FAULT_SETTINGS = {
    "EE_MAX_ATTEMPTS": "3",
    "EE_READ_TIMEOUT": "1",
    "EE_DEADLINE": "3",
    "SIGNED_URL_SERVICE_ACCOUNT": SIGNER,
}
IMAGE_SIZE = (120, 80)
_unique = itertools.count(1)


def render_request(**changes: Any) -> dict[str, Any]:
    """A PNG request no other test makes, so it names an object of its own."""
    return {
        "expression": SRTM,
        "region": [70, 20, 100, 40],
        "dimensions": f"{IMAGE_SIZE[0]}x{IMAGE_SIZE[1]}",
        "min": 0,
        # fake-gcs-server lives for the whole session, so each request differs.
        "max": 6000 + next(_unique) / 1000,
        "palette": ["006633", "E5FFCC", "662A00", "D8D8D8", "F5F5F5"],
        "format": "png",
        **changes,
    }


@dataclass
class FaultStack:
    """The function under test and a handle on every fault source."""

    client: FlaskClient
    ee_url: str
    gcs_url: str
    storage: FaultProxy
    signing: FaultProxy
    settings: Settings

    def add_ee_fault(self, method: str, fault: str, count: int) -> None:
        body = {
            "method": method,
            "fault": fault,
            "count": count,
            "delay_seconds": SLOW_SECONDS,
        }
        answer = requests.post(f"{self.ee_url}/_standin/faults", json=body, timeout=10)
        answer.raise_for_status()

    def clear_faults(self) -> None:
        requests.delete(f"{self.ee_url}/_standin/faults", timeout=10).raise_for_status()
        self.storage.clear()
        self.signing.clear()

    def ee_requests(self, method: str) -> int:
        answer = requests.get(f"{self.ee_url}/_standin/stats", timeout=10)
        answer.raise_for_status()
        return int(answer.json()["requests"].get(method, 0))

    def object_name(self, request: dict[str, Any]) -> str:
        """Return the object name the function derives from ``request``."""
        parsed = parse_render_request(dict(request), self.settings)
        prefix = self.settings.object_prefix
        return f"{prefix}{parsed.request_hash()}.{parsed.file_extension}"

    def stored_object(self, name: str) -> dict[str, Any] | None:
        """Return the object's metadata from fake-gcs-server, bypassing the proxy."""
        answer = requests.get(self._object_url(name), timeout=TIMEOUT)
        if answer.status_code == 404:
            return None
        answer.raise_for_status()
        metadata: dict[str, Any] = answer.json()
        return metadata

    def _object_url(self, name: str) -> str:
        bucket_url = f"{self.gcs_url}/storage/v1/b/{stack.RENDER_BUCKET}"
        return f"{bucket_url}/o/{quote(name, safe='')}"

    def assert_whole_image(self, name: str) -> None:
        """Check that the object exists and is the complete PNG, to the last byte."""
        metadata = self.stored_object(name)
        assert metadata is not None, f"gs://{stack.RENDER_BUCKET}/{name} is missing"
        media = requests.get(
            self._object_url(name), params={"alt": "media"}, timeout=TIMEOUT
        )
        content = media.content
        assert len(content) == int(metadata["size"])
        checksum = base64.b64encode(google_crc32c.Checksum(content).digest()).decode()
        assert checksum == metadata["crc32c"]
        with Image.open(io.BytesIO(content)) as image:
            image.load()  # decoding every row fails on a truncated PNG
            assert image.size == IMAGE_SIZE


@pytest.fixture(scope="module")
def proxies(gcs_server: str) -> Iterator[tuple[FaultProxy, FaultProxy]]:
    """The proxies in front of fake-gcs-server and of the signBlob stand-in."""
    with (
        FaultProxy(gcs_server) as storage,
        IamStandin() as iam,
        FaultProxy(iam.url) as signing,
    ):
        yield storage, signing


@pytest.fixture
def fault_stack(
    ee_server: str,
    gcs_server: str,
    proxies: tuple[FaultProxy, FaultProxy],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[FaultStack]:
    storage, signing = proxies
    requests.post(f"{ee_server}/_standin/reset", timeout=10).raise_for_status()
    storage.clear()
    signing.clear()
    env = stack.function_env(
        ee_server, storage.url, IAM_CREDENTIALS_URL=signing.url, **FAULT_SETTINGS
    )
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    client = create_app("render_http", str(stack.ROOT / "main.py")).test_client()
    settings = Settings.from_environ(env)
    yield FaultStack(client, ee_server, gcs_server, storage, signing, settings)
    storage.clear()
    signing.clear()
    requests.post(f"{ee_server}/_standin/reset", timeout=10).raise_for_status()
