"""Event functions under test, pointed at the stand-ins and a local Pub/Sub."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient
from functions_framework import create_app

from eerender import services
from local import stack
from local.pubsub_standin import PubSubStandin


@dataclass(frozen=True)
class EventStack:
    """URLs, buckets and the per-test output prefix of the event functions."""

    ee_url: str
    gcs_url: str
    pubsub: PubSubStandin
    prefix: str
    env: dict[str, str]

    def results(self) -> list[dict[str, Any]]:
        return self.pubsub.messages(stack.RESULTS_TOPIC)

    def ee_stats(self) -> dict[str, Any]:
        answer = requests.get(f"{self.ee_url}/_standin/stats", timeout=10)
        answer.raise_for_status()
        stats: dict[str, Any] = answer.json()
        return stats

    def pixel_downloads(self) -> int:
        responses = self.ee_stats().get("responses", {})
        return int(responses.get("thumbnails.getPixels", {}).get("200", 0))

    def add_fault(self, **fault: Any) -> None:
        requests.post(
            f"{self.ee_url}/_standin/faults", json=fault, timeout=10
        ).raise_for_status()


MakeEventClient = Callable[..., FlaskClient]


@pytest.fixture(scope="session")
def pubsub_server() -> Iterator[PubSubStandin]:
    standin = PubSubStandin()
    standin.start()
    yield standin
    standin.close()


@pytest.fixture
def event_stack(
    ee_server: str,
    gcs_server: str,
    pubsub_server: PubSubStandin,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[EventStack]:
    """The stand-ins reset, and the functions' environment with a fresh prefix."""
    requests.post(f"{ee_server}/_standin/reset", timeout=10).raise_for_status()
    pubsub_server.reset()
    stack.create_bucket(gcs_server, stack.UPLOAD_BUCKET)
    prefix = f"events-{uuid.uuid4().hex[:10]}/"
    env = stack.function_env(
        ee_server,
        gcs_server,
        **stack.event_env(pubsub_server.url),
        RENDER_OBJECT_PREFIX=prefix,
    )
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    yield EventStack(ee_server, gcs_server, pubsub_server, prefix, env)
    requests.post(f"{ee_server}/_standin/reset", timeout=10).raise_for_status()


@pytest.fixture
def make_event_client(
    event_stack: EventStack, monkeypatch: pytest.MonkeyPatch
) -> MakeEventClient:
    """Build a test client of one real function; keyword arguments set variables."""

    def build(target: str, **overrides: str) -> FlaskClient:
        for name, value in overrides.items():
            monkeypatch.setenv(name, value)
        services.reset()
        return create_app(target, str(stack.ROOT / "main.py")).test_client()

    return build


@pytest.fixture
def pubsub_client(make_event_client: MakeEventClient) -> FlaskClient:
    return make_event_client("render_pubsub")


@pytest.fixture
def storage_client(make_event_client: MakeEventClient) -> FlaskClient:
    return make_event_client("render_storage")
