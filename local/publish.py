"""Publish a render request, or a batch, to the request topic.

    python -m local.publish request.json [--attribute response_url=...] [--wait 30]
    python -m local.publish --batch batch.json
    echo '{"expression": ...}' | python -m local.publish -

The Pub/Sub endpoint, project and topic default to PUBSUB_API_URL, EE_PROJECT and
REQUEST_TOPIC, or to the local stack's when those are unset. A loopback endpoint is
called without credentials; any other gets Application Default Credentials. ``--wait``
polls the local Pub/Sub stand-in's record of the results topic and prints the outcome
announced for this request.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from collections.abc import Sequence
from typing import Any

import requests

from eerender.batch import plan_batch, publish_batch
from eerender.config import Settings, is_loopback
from eerender.events import REQUEST_ID_ATTRIBUTE
from eerender.pubsub import OutgoingMessage, Publisher
from local import stack

DEFAULT_PUBSUB_URL = "http://127.0.0.1:8085"
POLL_INTERVAL = 0.2


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = _settings(args)
    publisher = Publisher(settings, _session(settings.pubsub_api_url))
    body = json.loads(sys.stdin.read() if args.file == "-" else _read(args.file))

    if args.batch:
        from google.cloud import storage

        from eerender.records import RecordStore

        records = RecordStore(settings, storage.Client(project=settings.ee_project))
        plan = plan_batch(body, settings)
        receipt = publish_batch(plan, args.topic, publisher, records)
        print(json.dumps(receipt, indent=1))
        return 0

    attributes = dict(_pair(value) for value in args.attribute)
    attributes.setdefault(REQUEST_ID_ATTRIBUTE, uuid.uuid4().hex)
    message_ids = publisher.publish(
        args.topic, [OutgoingMessage.from_json(body, attributes)]
    )
    print(f"Published request {attributes[REQUEST_ID_ATTRIBUTE]} as {message_ids[0]}")
    if args.wait:
        outcome = wait_for_outcome(
            settings.pubsub_api_url, attributes[REQUEST_ID_ATTRIBUTE], args.wait
        )
        print(json.dumps(outcome, indent=1))
        return 0 if outcome and outcome.get("status") == "rendered" else 1
    return 0


def wait_for_outcome(
    pubsub_url: str, request_id: str, timeout: float, topic: str = stack.RESULTS_TOPIC
) -> dict[str, Any] | None:
    """Poll the local stand-in until an outcome for ``request_id`` is announced."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = requests.get(
            f"{pubsub_url}/_standin/messages", params={"topic": topic}, timeout=10
        )
        answer.raise_for_status()
        for message in answer.json()["messages"]:
            if message["attributes"].get(REQUEST_ID_ATTRIBUTE) == request_id:
                outcome: dict[str, Any] = message["json"]
                return outcome
        time.sleep(POLL_INTERVAL)
    return None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m local.publish",
        description="Publish a render request or a batch to the request topic.",
    )
    parser.add_argument("file", help="JSON file of the request or batch; - for stdin")
    parser.add_argument(
        "--batch", action="store_true", help="the file is a batch description"
    )
    parser.add_argument(
        "--topic",
        default=os.environ.get("REQUEST_TOPIC") or stack.REQUEST_TOPIC,
        help="topic id or projects/P/topics/T (default: %(default)s)",
    )
    parser.add_argument(
        "--api-url",
        default=os.environ.get("PUBSUB_API_URL") or DEFAULT_PUBSUB_URL,
        help="Pub/Sub endpoint (default: %(default)s)",
    )
    parser.add_argument(
        "--project",
        default=os.environ.get("EE_PROJECT") or stack.LOCAL_PROJECT,
        help="project of a topic given by id (default: %(default)s)",
    )
    parser.add_argument(
        "--attribute",
        action="append",
        default=[],
        help="KEY=VALUE message attribute, repeatable (request_id, response_url, ...)",
    )
    parser.add_argument(
        "--wait",
        type=float,
        default=0,
        help="seconds to wait for the announced outcome (local stand-in only)",
    )
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    environ = {
        "RENDER_BUCKET": stack.RENDER_BUCKET,
        **os.environ,
        "EE_PROJECT": args.project,
        "PUBSUB_API_URL": args.api_url,
    }
    return Settings.from_environ(environ)


def _session(pubsub_url: str) -> requests.Session:
    if is_loopback(pubsub_url):
        return requests.Session()
    import google.auth
    from google.auth.transport.requests import AuthorizedSession

    credentials, _ = google.auth.default(
        scopes=["https://www.googleapis.com/auth/pubsub"]
    )
    return AuthorizedSession(credentials)  # type: ignore[no-untyped-call]


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as file:
        return file.read()


def _pair(value: str) -> tuple[str, str]:
    key, separator, text = value.partition("=")
    if not separator or not key:
        raise SystemExit(f"--attribute {value!r} is invalid; use KEY=VALUE")
    return key, text


if __name__ == "__main__":
    sys.exit(main())
