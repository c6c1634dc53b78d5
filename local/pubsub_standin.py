"""A local Pub/Sub: records published messages and pushes each to a subscriber.

Run with ``python -m local.pubsub_standin --port 8085 --subscribe TOPIC=URL``. It serves
``POST /v1/projects/{project}/topics/{topic}:publish`` as the REST API does (base64
``data``, string ``attributes``, at most 1000 messages, ``{"messageIds": [...]}`` back),
and pushes every message to the topic's subscriber URL as an Eventarc
``google.cloud.pubsub.topic.v1.messagePublished`` CloudEvent in binary content mode.
A subscriber that returns anything but 2xx gets the message again with backoff until
``--max-attempts``, after which the message is dead-lettered.

Control endpoints for tests and demos:

- ``GET /_standin/health``;
- ``GET /_standin/messages[?topic=T]``: every recorded message, oldest first;
- ``POST /_standin/subscriptions`` ``{"topic": T, "url": U}``: push T to U (``url``
  null stops pushing);
- ``GET /_standin/stats`` and ``POST /_standin/reset``.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import datetime
import itertools
import json
import logging
import re
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from local.delivery import (
    PushStats,
    RetryPolicy,
    cloud_event_headers,
    parse_targets,
    push,
)

logger = logging.getLogger("local.pubsub_standin")

MESSAGE_PUBLISHED = "google.cloud.pubsub.topic.v1.messagePublished"
MAX_MESSAGES_PER_PUBLISH = 1000
MAX_REQUEST_BYTES = 10 * 1024 * 1024
_PUBLISH_PATH = re.compile(r"/v1/projects/([^/]+)/topics/([^/:]+):publish")


class PublishError(Exception):
    """A publish request the real API would reject with 400 INVALID_ARGUMENT."""


@dataclass
class Message:
    """One published message and what became of its pushes."""

    project: str
    topic: str
    message_id: str
    data: str
    attributes: dict[str, str]
    publish_time: str
    delivered: bool | None = None

    def event_data(self, subscription: str) -> dict[str, Any]:
        # Eventarc writes both spellings of the id and time; attributes are left out
        # when the publisher set none.
        message: dict[str, Any] = {
            "data": self.data,
            "messageId": self.message_id,
            "message_id": self.message_id,
            "publishTime": self.publish_time,
            "publish_time": self.publish_time,
        }
        if self.attributes:
            message["attributes"] = self.attributes
        return {"message": message, "subscription": subscription}

    def to_json(self) -> dict[str, Any]:
        decoded = base64.b64decode(self.data) if self.data else b""
        try:
            json_value: Any = json.loads(decoded)
        except ValueError:
            json_value = None
        return {
            "topic": f"projects/{self.project}/topics/{self.topic}",
            "messageId": self.message_id,
            "data": self.data,
            "json": json_value,
            "attributes": self.attributes,
            "publishTime": self.publish_time,
            "delivered": self.delivered,
        }


class PubSubStandin:
    """The stand-in's state and its HTTP server on 127.0.0.1."""

    def __init__(
        self,
        port: int = 0,
        subscribers: dict[str, str] | None = None,
        policy: RetryPolicy | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._messages: list[Message] = []
        self._subscribers = dict(subscribers or {})
        self._policy = policy or RetryPolicy()
        self._pool = ThreadPoolExecutor(max_workers=32)
        self.stats = PushStats()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), _handler_class(self))
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def publish(self, project: str, topic: str, body: Any) -> list[str]:
        """Record the messages of a publish request and queue their pushes."""
        raw_messages = _check_publish(body)
        now = datetime.datetime.now(datetime.UTC).isoformat(timespec="microseconds")
        published = [
            Message(
                project=project,
                topic=topic,
                message_id=str(next(self._ids)),
                data=raw.get("data", ""),
                attributes=raw.get("attributes") or {},
                publish_time=now.replace("+00:00", "Z"),
            )
            for raw in raw_messages
        ]
        with self._lock:
            self._messages += published
            target = self._subscribers.get(topic)
        for message in published:
            if target:
                self.stats.add(events=1)
                self._pool.submit(self._push, message, target)
        return [message.message_id for message in published]

    def subscribe(self, topic: str, url: str | None) -> None:
        with self._lock:
            if url:
                self._subscribers[topic] = url
            else:
                self._subscribers.pop(topic, None)

    def messages(self, topic: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [m.to_json() for m in self._messages if topic in (None, m.topic)]

    def reset(self) -> None:
        with self._lock:
            self._messages.clear()
        self.stats = PushStats()

    def _push(self, message: Message, url: str) -> None:
        source = (
            f"//pubsub.googleapis.com/projects/{message.project}/topics/{message.topic}"
        )
        subscription = (
            f"projects/{message.project}/subscriptions/eventarc-{message.topic}"
        )
        headers = cloud_event_headers(
            message.message_id, MESSAGE_PUBLISHED, source, message.publish_time
        )
        message.delivered = push(
            url, headers, message.event_data(subscription), self._policy, self.stats
        )


def _check_publish(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        raise PublishError('The request body must be {"messages": [...]}.')
    messages: list[dict[str, Any]] = body["messages"]
    if not 1 <= len(messages) <= MAX_MESSAGES_PER_PUBLISH:
        raise PublishError(
            f"A publish request takes 1 to {MAX_MESSAGES_PER_PUBLISH} messages, "
            f"not {len(messages)}."
        )
    for index, message in enumerate(messages):
        _check_message(message, index)
    return messages


def _check_message(message: Any, index: int) -> None:
    if not isinstance(message, dict):
        raise PublishError(f"messages[{index}] is not an object.")
    data, attributes = message.get("data", ""), message.get("attributes") or {}
    if not isinstance(data, str):
        raise PublishError(f"messages[{index}].data must be a base64 string.")
    try:
        base64.b64decode(data, validate=True)
    except binascii.Error as error:
        raise PublishError(f"messages[{index}].data is not valid base64.") from error
    if not isinstance(attributes, dict) or not all(
        isinstance(key, str) and isinstance(value, str)
        for key, value in attributes.items()
    ):
        raise PublishError(f"messages[{index}].attributes must map strings to strings.")
    if not data and not attributes:
        raise PublishError(
            f"messages[{index}] has neither data nor attributes; one is required."
        )


def _handler_class(standin: PubSubStandin) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
            url = urlsplit(self.path)
            if url.path == "/_standin/health":
                self._send(HTTPStatus.OK, {"status": "ok"})
            elif url.path == "/_standin/messages":
                topic = parse_qs(url.query).get("topic", [None])[0]
                self._send(HTTPStatus.OK, {"messages": standin.messages(topic)})
            elif url.path == "/_standin/stats":
                self._send(HTTPStatus.OK, standin.stats.to_json())
            else:
                self._error(HTTPStatus.NOT_FOUND, "NOT_FOUND", f"No route {url.path}.")

        def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
            path = urlsplit(self.path).path
            try:
                body = self._read_json()
                if match := _PUBLISH_PATH.fullmatch(path):
                    ids = standin.publish(match.group(1), match.group(2), body)
                    self._send(HTTPStatus.OK, {"messageIds": ids})
                elif path == "/_standin/subscriptions":
                    standin.subscribe(str(body["topic"]), body.get("url"))
                    self._send(HTTPStatus.OK, {})
                elif path == "/_standin/reset":
                    standin.reset()
                    self._send(HTTPStatus.OK, {})
                else:
                    self._error(HTTPStatus.NOT_FOUND, "NOT_FOUND", f"No route {path}.")
            except (PublishError, ValueError, KeyError, TypeError) as error:
                self._error(HTTPStatus.BAD_REQUEST, "INVALID_ARGUMENT", str(error))

        def _read_json(self) -> Any:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_REQUEST_BYTES:
                raise PublishError(f"The request is over {MAX_REQUEST_BYTES} bytes.")
            raw = self.rfile.read(length)
            return json.loads(raw) if raw else {}

        def _error(self, status: int, name: str, message: str) -> None:
            body = {"error": {"code": int(status), "message": message, "status": name}}
            self._send(status, body)

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug(format, *args)

    return Handler


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m local.pubsub_standin",
        description="Local stand-in for Pub/Sub publishing with push to functions.",
    )
    parser.add_argument("--port", type=int, default=8085, help="port on 127.0.0.1")
    parser.add_argument(
        "--subscribe",
        action="append",
        default=[],
        help="TOPIC=URL: push the topic's messages to URL; repeatable",
    )
    parser.add_argument(
        "--max-attempts", type=int, default=5, help="pushes per message"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    standin = PubSubStandin(
        args.port,
        parse_targets(args.subscribe, "--subscribe"),
        RetryPolicy(args.max_attempts),
    )
    logger.info("Pub/Sub stand-in listening on %s", standin.url)
    try:
        standin.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        standin.close()


if __name__ == "__main__":
    main()
