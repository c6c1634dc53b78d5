"""Servers shared by the whole suite: the Earth Engine stand-in and fake-gcs-server.

Both run as real processes on free ports of 127.0.0.1 for the session and are stopped at
the end. Tests that need other stand-in options start their own with ``local.stack``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from eerender.config import ENVIRONMENT
from local import stack

# Every variable the product reads, so a developer's shell cannot leak into a test.
PRODUCT_VARIABLES = frozenset(ENVIRONMENT)


def _ensure_data() -> None:
    # Idempotent: after the first run it only checks that the files are there.
    subprocess.run(
        [
            sys.executable,
            "-m",
            "standin.datasets",
            "install",
            "--dir",
            str(stack.DATA_DIR),
        ],
        check=True,
        cwd=stack.ROOT,
        stdout=subprocess.DEVNULL,
    )


@pytest.fixture(scope="session")
def ee_server(gcs_server: str) -> Iterator[str]:
    """Base URL of an Earth Engine stand-in; Image.loadGeoTIFF reads from gcs_server."""
    _ensure_data()
    process = stack.standin(stack.free_port(), storage_url=gcs_server)
    process.start()
    yield process.url
    process.stop()


@pytest.fixture(scope="session")
def gcs_server() -> Iterator[str]:
    """Base URL of a running fake-gcs-server with the render bucket created."""
    process = stack.fake_gcs(stack.free_port())
    process.start()
    stack.create_bucket(process.url, stack.RENDER_BUCKET)
    yield process.url
    process.stop()


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Start each test from the same environment, with the services rebuilt."""
    from eerender import services

    for name in PRODUCT_VARIABLES & set(os.environ):
        monkeypatch.delenv(name)
    services.reset()
    yield
    services.reset()
