"""The HTTP function's fixtures, shared with the abuse tests, plus what they count."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from local import stack
from tests.http.conftest import client, make_client, standin_control, stats

__all__ = [
    "client",
    "ee_calls",
    "live",
    "make_client",
    "object_count",
    "standin_control",
]


def ee_calls(ee_url: str) -> int:
    """Return how many Earth Engine API calls the stand-in has received."""
    counts: dict[str, Any] = stats(ee_url)["requests"]
    return sum(counts.values())


def object_count(gcs_url: str, bucket: str = stack.RENDER_BUCKET) -> int:
    """Return how many objects ``bucket`` of fake-gcs-server holds."""
    listing = requests.get(f"{gcs_url}/storage/v1/b/{bucket}/o", timeout=10)
    listing.raise_for_status()
    return len(listing.json().get("items", []))


@pytest.fixture(scope="module")
def live(ee_server: str) -> Iterator[stack.Stack]:
    """A running HTTP function under functions-framework, with its own stand-ins.

    POST /batch publishes to a Pub/Sub stand-in without subscribers.

    Depends on ``ee_server`` only so that the stand-in's data is installed first.
    """
    pubsub = stack.pubsub_standin(stack.free_port(), {})
    pubsub.start()
    topic = f"projects/{stack.LOCAL_PROJECT}/topics/{stack.REQUEST_TOPIC}"
    try:
        # Batches are published to a topic without subscribers, so an accepted
        # batch can never write objects while later cases are checked.
        with stack.running(PUBSUB_API_URL=pubsub.url, REQUEST_TOPIC=topic) as running:
            yield running
    finally:
        pubsub.stop()
