"""A local Eventarc: posts CloudEvents for new objects in fake-gcs-server to a function.

Run with ``python -m local.delivery --gcs URL --watch BUCKET=FUNCTION_URL``. It lists
each watched bucket every ``--interval`` seconds through the JSON API and posts one
``google.cloud.storage.object.v1.finalized`` event per new object generation, in the
binary content mode Eventarc uses: ``ce-*`` headers and the object resource as the JSON
body. A function that returns anything but 2xx gets the event again with exponential
backoff, as a trigger with a retry policy does, until ``--max-attempts``.

fake-gcs-server's own ``-event.*`` options publish to Pub/Sub over gRPC, which the local
Pub/Sub stand-in does not speak, so this watcher polls the listing instead.

The same push-with-retries loop delivers the Pub/Sub stand-in's messages.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote

import requests

logger = logging.getLogger("local.delivery")

STORAGE_FINALIZED = "google.cloud.storage.object.v1.finalized"
SPEC_VERSION = "1.0"
PUSH_TIMEOUT = (5.0, 120.0)
LIST_TIMEOUT = 10.0


@dataclass(frozen=True)
class RetryPolicy:
    """How often a push is tried and how long to wait between tries."""

    max_attempts: int = 5
    min_backoff: float = 0.1
    max_backoff: float = 10.0

    def backoff(self, attempt: int) -> float:
        ceiling = min(self.max_backoff, self.min_backoff * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)


@dataclass
class PushStats:
    """Thread-safe counts of pushes, shared by both local event sources."""

    events: int = 0
    delivered: int = 0
    attempts: int = 0
    failed_attempts: int = 0
    dead_lettered: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, count in counts.items():
                setattr(self, name, getattr(self, name) + count)

    def to_json(self) -> dict[str, int]:
        with self._lock:
            return {
                "events": self.events,
                "delivered": self.delivered,
                "attempts": self.attempts,
                "failed_attempts": self.failed_attempts,
                "dead_lettered": self.dead_lettered,
            }


def cloud_event_headers(
    event_id: str, event_type: str, source: str, time_: str, subject: str | None = None
) -> dict[str, str]:
    """Return the binary-mode headers Eventarc sends with a JSON event body."""
    headers = {
        "ce-id": event_id,
        "ce-specversion": SPEC_VERSION,
        "ce-type": event_type,
        "ce-source": source,
        "ce-time": time_,
        "Content-Type": "application/json; charset=utf-8",
    }
    if subject:
        headers["ce-subject"] = subject
    return headers


def push(
    url: str,
    headers: Mapping[str, str],
    body: Any,
    policy: RetryPolicy,
    stats: PushStats,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """POST one event until the target returns 2xx; return False once dead-lettered."""
    data = json.dumps(body).encode("utf-8")
    for attempt in range(1, policy.max_attempts + 1):
        stats.add(attempts=1)
        status = _post(url, headers, data)
        if status is not None and HTTPStatus.OK <= status < HTTPStatus.MULTIPLE_CHOICES:
            stats.add(delivered=1)
            return True
        stats.add(failed_attempts=1)
        if attempt < policy.max_attempts:
            wait = policy.backoff(attempt)
            logger.info(
                "Event %s got %s from %s, attempt %d of %d; retrying in %.2f s",
                headers.get("ce-id"),
                status or "no answer",
                url,
                attempt,
                policy.max_attempts,
                wait,
            )
            sleep(wait)
    stats.add(dead_lettered=1)
    logger.warning(
        "Event %s dead-lettered after %d attempts", headers.get("ce-id"), attempt
    )
    return False


def _post(url: str, headers: Mapping[str, str], data: bytes) -> int | None:
    try:
        response = requests.post(
            url, headers=dict(headers), data=data, timeout=PUSH_TIMEOUT
        )
    except requests.RequestException as error:
        logger.info("Push to %s failed: %s", url, error)
        return None
    response.close()
    return response.status_code


class BucketWatcher:
    """Polls buckets in fake-gcs-server and pushes finalized events for new objects."""

    def __init__(
        self,
        gcs_url: str,
        targets: Mapping[str, str],
        policy: RetryPolicy,
        interval: float = 0.2,
        include_existing: bool = False,
    ) -> None:
        self._gcs_url = gcs_url.rstrip("/")
        self._targets = dict(targets)
        self._policy = policy
        self._interval = interval
        self._seen: set[tuple[str, str, str]] = set()
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=16)
        self.stats = PushStats()
        if not include_existing:
            for bucket in self._targets:
                self._seen.update(self._keys(bucket, self._list(bucket)))

    def run(self) -> None:
        """Poll until stop() is called."""
        while not self._stop.wait(self._interval):
            for bucket in self._targets:
                try:
                    self._poll(bucket)
                except requests.RequestException as error:
                    logger.warning("Listing bucket %s failed: %s", bucket, error)

    def stop(self) -> None:
        self._stop.set()
        self._pool.shutdown(wait=True)

    def _poll(self, bucket: str) -> None:
        for resource in self._list(bucket):
            key = (bucket, resource["name"], str(resource.get("generation", "")))
            if key in self._seen:
                continue
            self._seen.add(key)
            self.stats.add(events=1)
            self._pool.submit(self._deliver, bucket, resource)

    def _deliver(self, bucket: str, resource: dict[str, Any]) -> None:
        headers = cloud_event_headers(
            event_id=uuid.uuid4().hex,
            event_type=STORAGE_FINALIZED,
            source=f"//storage.googleapis.com/projects/_/buckets/{bucket}",
            time_=str(resource.get("updated") or resource.get("timeCreated") or ""),
            subject=f"objects/{resource['name']}",
        )
        push(self._targets[bucket], headers, resource, self._policy, self.stats)

    def _list(self, bucket: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        token = ""
        while True:
            url = f"{self._gcs_url}/storage/v1/b/{quote(bucket, safe='')}/o"
            params = {"pageToken": token} if token else {}
            response = requests.get(url, params=params, timeout=LIST_TIMEOUT)
            response.raise_for_status()
            page = response.json()
            items += page.get("items", [])
            token = page.get("nextPageToken", "")
            if not token:
                return items

    @staticmethod
    def _keys(bucket: str, items: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
        return {
            (bucket, item["name"], str(item.get("generation", ""))) for item in items
        }


def serve_status(port: int, stats: PushStats) -> ThreadingHTTPServer:
    """Serve ``/_delivery/health`` and ``/_delivery/stats`` on 127.0.0.1."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
            if self.path == "/_delivery/health":
                self._send(HTTPStatus.OK, {"status": "ok"})
            elif self.path == "/_delivery/stats":
                self._send(HTTPStatus.OK, stats.to_json())
            else:
                self._send(HTTPStatus.NOT_FOUND, {"error": "not found"})

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug(format, *args)

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def parse_targets(values: Sequence[str], option: str) -> dict[str, str]:
    """Parse repeated ``NAME=URL`` options into a dict."""
    targets: dict[str, str] = {}
    for value in values:
        name, separator, url = value.partition("=")
        if not separator or not name or not url:
            raise SystemExit(f"{option} {value!r} is invalid; use NAME=URL")
        targets[name] = url
    return targets


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m local.delivery",
        description="Post Cloud Storage finalized CloudEvents for new objects in "
        "fake-gcs-server to functions on 127.0.0.1.",
    )
    parser.add_argument("--gcs", required=True, help="fake-gcs-server base URL")
    parser.add_argument(
        "--watch",
        action="append",
        default=[],
        required=True,
        help="BUCKET=FUNCTION_URL, repeatable",
    )
    parser.add_argument("--port", type=int, default=0, help="status server port")
    parser.add_argument(
        "--interval", type=float, default=0.2, help="seconds between listings"
    )
    parser.add_argument("--max-attempts", type=int, default=5, help="pushes per event")
    parser.add_argument(
        "--include-existing",
        action="store_true",
        help="also deliver objects that exist when the watcher starts",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    watcher = BucketWatcher(
        args.gcs,
        parse_targets(args.watch, "--watch"),
        RetryPolicy(max_attempts=args.max_attempts),
        args.interval,
        args.include_existing,
    )
    status = serve_status(args.port, watcher.stats)
    logger.info(
        "Watching %s on %s; status on port %d",
        ", ".join(args.watch),
        args.gcs,
        status.server_address[1],
    )
    try:
        watcher.run()
    except KeyboardInterrupt:
        pass
    finally:
        watcher.stop()
        status.shutdown()


if __name__ == "__main__":
    main()
