"""The HTTP and event functions' fixtures, for rendering recipes on the stand-ins."""

from __future__ import annotations

from tests.events.conftest import (
    event_stack,
    make_event_client,
    pubsub_client,
    pubsub_server,
    storage_client,
)
from tests.http.conftest import client, make_client, standin_control

__all__ = [
    "client",
    "event_stack",
    "make_client",
    "make_event_client",
    "pubsub_client",
    "pubsub_server",
    "standin_control",
    "storage_client",
]
