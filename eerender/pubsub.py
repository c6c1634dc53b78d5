"""Publishes messages through the Pub/Sub REST API under the function's own identity.

The session is the Earth Engine client's AuthorizedSession, whose credentials carry the
cloud-platform scope that ``topics.publish`` accepts. Publishing is retried on 429, 5xx,
time-outs and resets. A retried publish can deliver a message twice, which is safe here
because every consumer keys its work on the request hash or the request id.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import requests

from eerender.config import Settings
from eerender.earthengine import retry_after_seconds
from eerender.errors import (
    ConfigurationError,
    InvalidRequest,
    RenderError,
    Upstream,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from eerender.logs import redact
from eerender.retry import RETRYABLE_STATUS_CODES, RetryPolicy, call_with_retry

logger = logging.getLogger(__name__)

SERVICE = "pubsub"
# topics.publish takes at most 1000 messages and 10 MB per call. Base64 grows data by a
# third, so calls are cut well before the byte limit.
MAX_MESSAGES_PER_CALL = 1000
MAX_DATA_BYTES_PER_CALL = 6 * 1024 * 1024
PUBLISH_ATTEMPTS = 5
_TOPIC = re.compile(r"projects/[^/]+/topics/[^/]+")


@dataclass(frozen=True)
class OutgoingMessage:
    """Data and attributes of one message to publish."""

    data: bytes
    attributes: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(
        cls, body: Any, attributes: dict[str, str] | None = None
    ) -> OutgoingMessage:
        encoded = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        return cls(encoded.encode("utf-8"), dict(attributes or {}))

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"data": base64.b64encode(self.data).decode("ascii")}
        if self.attributes:
            body["attributes"] = self.attributes
        return body


def topic_path(topic: str, project: str) -> str:
    """Return ``projects/P/topics/T`` for a topic id or a full topic name.

    Raises:
        ConfigurationError: when ``topic`` is neither.
    """
    if _TOPIC.fullmatch(topic):
        return topic
    if topic and "/" not in topic:
        return f"projects/{project}/topics/{topic}"
    raise ConfigurationError(
        f"Topic {topic!r} is not a topic id or a name of the form "
        "projects/PROJECT/topics/TOPIC; fix REQUEST_TOPIC or RESULTS_TOPIC.",
        code="INVALID_TOPIC",
        value=topic,
    )


class Publisher:
    """Calls ``topics.publish``. Safe to share between threads."""

    def __init__(self, settings: Settings, session: requests.Session) -> None:
        self._settings = settings
        self._session = session
        self._timeout = (settings.ee_connect_timeout, settings.pubsub_timeout)

    def publish(self, topic: str, messages: list[OutgoingMessage]) -> list[str]:
        """Publish ``messages`` in as few calls as the limits allow; return their ids.

        Raises:
            ConfigurationError: the topic is missing or the identity may not publish.
            UpstreamError: Pub/Sub stayed unavailable through every retry.
        """
        path = topic_path(topic, self._settings.ee_project)
        message_ids: list[str] = []
        for chunk in _chunks(messages):
            message_ids += self._publish_call(path, chunk)
        return message_ids

    def _publish_call(self, path: str, messages: list[OutgoingMessage]) -> list[str]:
        url = f"{self._settings.pubsub_api_url}/v1/{quote(path, safe='/')}:publish"
        body = {"messages": [message.to_json() for message in messages]}
        policy = RetryPolicy(
            max_attempts=PUBLISH_ATTEMPTS, deadline=self._settings.ee_deadline
        )

        def attempt() -> list[str]:
            return self._send(url, path, body)

        return call_with_retry(attempt, policy, f"publish to {path}")

    def _send(self, url: str, path: str, body: dict[str, Any]) -> list[str]:
        started = time.monotonic()
        try:
            response = self._session.post(url, json=body, timeout=self._timeout)
        except requests.Timeout as error:
            raise UpstreamTimeout(
                f"Publishing to {path} timed out after {self._timeout} s; retry later.",
                code="PUBSUB_TIMEOUT",
                upstream=Upstream(SERVICE, None, type(error).__name__),
            ) from error
        except requests.ConnectionError as error:
            raise UpstreamUnavailable(
                f"Pub/Sub could not be reached to publish to {path}; retry later.",
                code="PUBSUB_UNAVAILABLE",
                upstream=Upstream(SERVICE, None, redact(str(error))[:300]),
            ) from error

        logger.info(
            "Pub/Sub publish to %s -> %d",
            path,
            response.status_code,
            extra={
                "json_fields": {
                    "operation": "topics.publish",
                    "messages": len(body["messages"]),
                    "status": response.status_code,
                    "latency_ms": round((time.monotonic() - started) * 1000, 1),
                }
            },
        )
        if response.status_code != HTTPStatus.OK:
            raise _publish_error(response, path)
        return [str(item) for item in response.json().get("messageIds", [])]


def _chunks(messages: list[OutgoingMessage]) -> list[list[OutgoingMessage]]:
    chunks: list[list[OutgoingMessage]] = [[]]
    size = 0
    for message in messages:
        full = len(chunks[-1]) >= MAX_MESSAGES_PER_CALL
        if chunks[-1] and (full or size + len(message.data) > MAX_DATA_BYTES_PER_CALL):
            chunks.append([])
            size = 0
        chunks[-1].append(message)
        size += len(message.data)
    return [chunk for chunk in chunks if chunk]


def _publish_error(response: requests.Response, path: str) -> RenderError:
    status = response.status_code
    message, status_name = _read_error(response)
    upstream = Upstream(SERVICE, status, redact(message), status_name)

    if status in (HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN):
        return ConfigurationError(
            f"Pub/Sub rejected publishing to {path}: grant the function's service "
            "account roles/pubsub.publisher on that topic.",
            code="PUBSUB_PERMISSION",
            upstream=upstream,
        )
    if status == HTTPStatus.NOT_FOUND:
        return ConfigurationError(
            f"Topic {path} does not exist; create it or fix REQUEST_TOPIC / "
            "RESULTS_TOPIC.",
            code="TOPIC_NOT_FOUND",
            upstream=upstream,
        )
    if status in RETRYABLE_STATUS_CODES or status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        return UpstreamError(
            f"Pub/Sub failed with {status} publishing to {path}; retry later.",
            code="PUBSUB_UNAVAILABLE",
            upstream=upstream,
            retry_after=retry_after_seconds(response),
        )
    return InvalidRequest(
        f"Pub/Sub rejected the messages for {path}: {message}",
        code="PUBSUB_REJECTED",
        upstream=upstream,
    )


def _read_error(response: requests.Response) -> tuple[str, str | None]:
    try:
        error = response.json()["error"]
        return str(error.get("message") or response.reason), error.get("status")
    except (ValueError, KeyError, TypeError, AttributeError):
        return (response.text.strip()[:500] or response.reason or "no message"), None
