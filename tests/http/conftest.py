from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient
from functions_framework import create_app

from local import stack

MakeClient = Callable[..., FlaskClient]


@pytest.fixture
def standin_control(ee_server: str) -> Iterator[str]:
    """The stand-in's URL, with faults, ids and counters cleared before and after."""
    requests.post(f"{ee_server}/_standin/reset", timeout=10).raise_for_status()
    yield ee_server
    requests.post(f"{ee_server}/_standin/reset", timeout=10).raise_for_status()


@pytest.fixture
def make_client(
    standin_control: str, gcs_server: str, monkeypatch: pytest.MonkeyPatch
) -> MakeClient:
    """Build a test client of the real HTTP function, pointed at the stand-ins."""

    def build(**overrides: str) -> FlaskClient:
        env = stack.function_env(standin_control, gcs_server, **overrides)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        app = create_app("render_http", str(stack.ROOT / "main.py"))
        return app.test_client()

    return build


@pytest.fixture
def client(make_client: MakeClient) -> FlaskClient:
    return make_client()


@pytest.fixture
def unregistered_client(
    gcs_server: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FlaskClient]:
    """A function whose Earth Engine project is not registered."""
    process = stack.standin(stack.free_port(), "--project-state", "not-registered")
    process.start()
    try:
        for name, value in stack.function_env(process.url, gcs_server).items():
            monkeypatch.setenv(name, value)
        yield create_app("render_http", str(stack.ROOT / "main.py")).test_client()
    finally:
        process.stop()


def add_fault(ee_url: str, **fault: Any) -> None:
    requests.post(
        f"{ee_url}/_standin/faults", json=fault, timeout=10
    ).raise_for_status()


def stats(ee_url: str) -> dict[str, Any]:
    answer = requests.get(f"{ee_url}/_standin/stats", timeout=10)
    answer.raise_for_status()
    return answer.json()
