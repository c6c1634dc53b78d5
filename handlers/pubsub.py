"""The Pub/Sub trigger: each message is a render request stored into Cloud Storage.

The message data is the render request JSON the HTTP trigger takes, base64-encoded by
Pub/Sub, with ``delivery`` always ``store``. Attributes are optional: ``request_id``
(default: the message id), ``destination`` (``gs://BUCKET/OBJECT``), and
``response_url`` / ``reply_*``, which come back on the result announcement.

Returning acknowledges the message; raising makes the platform redeliver it. Which of
the two happens for a failure is decided by ``eerender.outcome``.
"""

from __future__ import annotations

import logging

from cloudevents.http import CloudEvent

from eerender import events, logs, services, worker
from eerender.config import Settings
from eerender.outcome import EventContext

logger = logging.getLogger(__name__)

TRIGGER = "pubsub"


def handle(event: CloudEvent) -> None:
    """Render the request in one messagePublished event, or settle its failure.

    Raises:
        Exception: a transient or configuration failure, for the platform to retry.
    """
    with worker.event_logging(event):
        _handle(event, services.get().settings)


def _handle(event: CloudEvent, settings: Settings) -> None:
    runner = worker.get()
    message = runner.read_envelope(
        event, TRIGGER, events.PUBSUB_PUBLISHED, events.pubsub_message
    )
    if message is None:
        return

    context = EventContext(
        trigger=TRIGGER,
        event_id=event["id"],
        request_id=message.request_id,
        source=event["source"],
        event_time=message.publish_time,
        delivery_attempt=message.delivery_attempt,
        reply=message.reply_attributes,
        attributes=message.attributes,
    )
    logs.bind(
        settings.ee_project, None, event_id=event["id"], request_id=context.request_id
    )
    runner.run(
        context,
        lambda: events.decode_message_data(message.data, settings.max_body_bytes),
    )
