"""Reliability of the Pub/Sub trigger: every request ends as one result or one failure.

    python -m bench.reliability --events 500

Sends render events through the real ``render_pubsub`` function, served by
functions-framework on 127.0.0.1 against the Earth Engine stand-in and fake-gcs-server.
A share of the events are duplicates of earlier ones (the same message delivered again
after it was acknowledged, as Pub/Sub may do), a share are invalid (a bad palette, an
unknown asset), and before a share of the events a fault is queued in the stand-in (429,
500, 503, a connection reset or a slow response). Every event for which the function
returns an error is delivered again with backoff, as the platform does.

It prints events sent, results written, failures recorded, duplicates rendered (pixel
downloads beyond one per written result) and lost requests (neither a result nor a
failure record). The right figures are zero duplicates rendered and zero lost.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import json
import random
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import requests

from eerender.config import Settings
from eerender.errors import InvalidRequest
from eerender.outcome import FAILURE_SUFFIX, failure_name
from eerender.request import parse_render_request
from local.delivery import cloud_event_headers

# Posts one event (headers, body) to the function and returns the HTTP status.
Deliver = Callable[[Mapping[str, str], bytes], int]

MESSAGE_PUBLISHED = "google.cloud.pubsub.topic.v1.messagePublished"
FAULT_KINDS = ("429", "500", "503", "reset", "slow")
FAULT_METHODS = ("thumbnails.create", "thumbnails.getPixels")
MAX_DELIVERIES = 30
REDELIVERY_BACKOFF = (0.05, 1.0)
TIMEOUT = 10


@dataclass(frozen=True)
class Workload:
    """How many events to send and which shares are duplicated, invalid or faulted."""

    events: int = 500
    duplicate_share: float = 0.1
    fault_share: float = 0.3
    invalid_share: float = 0.05
    seed: int = 7


@dataclass(frozen=True)
class PlannedRequest:
    """One distinct request, and the objects that may settle it."""

    request_id: str
    data: dict[str, Any]
    duplicated: bool
    result_name: str | None
    failure_name: str


@dataclass
class Figures:
    """Counts of one run: events, deliveries, results, failures and losses."""

    events_sent: int = 0
    distinct_requests: int = 0
    deliveries: int = 0
    redeliveries: int = 0
    faults_injected: int = 0
    dead_lettered: int = 0
    results_written: int = 0
    failures_recorded: int = 0
    duplicates_rendered: int = 0
    lost: int = 0
    seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, count in counts.items():
                setattr(self, name, getattr(self, name) + count)

    def lines(self) -> list[str]:
        return [
            f"events sent           {self.events_sent}"
            f" ({self.distinct_requests} distinct requests)",
            f"deliveries            {self.deliveries}"
            f" ({self.redeliveries} redelivered after an error)",
            f"faults injected       {self.faults_injected}",
            f"results written       {self.results_written}",
            f"failures recorded     {self.failures_recorded}",
            f"duplicates rendered   {self.duplicates_rendered}",
            f"lost                  {self.lost}",
            f"dead-lettered         {self.dead_lettered}",
            f"elapsed               {self.seconds:.1f} s",
        ]


def plan(workload: Workload, settings: Settings) -> list[PlannedRequest]:
    """Build the distinct requests; the duplicates are among the events sent."""
    rng = random.Random(workload.seed)
    duplicates = round(workload.events * workload.duplicate_share)
    distinct = workload.events - duplicates
    duplicated = set(rng.sample(range(distinct), duplicates))
    return [
        _planned(index, rng, workload, settings, index in duplicated)
        for index in range(distinct)
    ]


def _planned(
    index: int, rng: random.Random, workload: Workload, settings: Settings, dup: bool
) -> PlannedRequest:
    data = _render_request(index, rng, workload.invalid_share)
    request_id = f"r{index:05d}"
    try:
        request = parse_render_request({**data, "delivery": "store"}, settings)
    except InvalidRequest:
        name = failure_name(
            None, settings.object_prefix, request_id, message_id_for(request_id)
        )
        return PlannedRequest(request_id, data, dup, None, name)
    result = (
        f"{settings.object_prefix}{request.request_hash()}.{request.file_extension}"
    )
    return PlannedRequest(request_id, data, dup, result, result + FAILURE_SUFFIX)


def _render_request(
    index: int, rng: random.Random, invalid_share: float
) -> dict[str, Any]:
    # A distinct small region per index, so every request renders different pixels.
    west, south = -120 + (index % 100) * 0.5, 30 + (index // 100) * 0.5
    asset = "USGS/SRTMGL1_003"
    palette: Any = ["006633", "E5FFCC", "662A00", "D8D8D8", "F5F5F5"]
    draw = rng.random()
    if draw < invalid_share / 2:
        palette = {"low": "blue"}  # rejected before Earth Engine is called
    elif draw < invalid_share:
        asset = f"USGS/NO_SUCH_ASSET_{index}"  # rejected by Earth Engine with a 400
    return {
        "expression": {
            "result": "0",
            "values": {
                "0": {
                    "functionInvocationValue": {
                        "functionName": "Image.load",
                        "arguments": {"id": {"constantValue": asset}},
                    }
                }
            },
        },
        "region": [west, south, west + 2, south + 1],
        "dimensions": 64,
        "min": 0,
        "max": 3000,
        "palette": palette,
        "format": "png",
    }


def message_id_for(request_id: str) -> str:
    """The Pub/Sub message id the harness gives the message of ``request_id``."""
    return request_id.replace("r", "m", 1)


def event(request: PlannedRequest, publish_time: str) -> tuple[dict[str, str], bytes]:
    """Build the binary-mode CloudEvent Eventarc posts for the request's message."""
    message_id = message_id_for(request.request_id)
    data = base64.b64encode(json.dumps(request.data).encode()).decode()
    body = {
        "message": {
            "data": data,
            "attributes": {"request_id": request.request_id},
            "messageId": message_id,
            "publishTime": publish_time,
        },
        "subscription": "projects/local-project/subscriptions/render-requests",
    }
    source = "//pubsub.googleapis.com/projects/local-project/topics/requests"
    headers = cloud_event_headers(message_id, MESSAGE_PUBLISHED, source, publish_time)
    return headers, json.dumps(body).encode()


def run(
    deliver: Deliver,
    ee_url: str,
    gcs_url: str,
    settings: Settings,
    workload: Workload,
    workers: int = 8,
) -> Figures:
    """Send the workload through ``deliver`` and count how every request ended."""
    requests.post(f"{ee_url}/_standin/reset", timeout=TIMEOUT).raise_for_status()
    planned = plan(workload, settings)
    figures = Figures(distinct_requests=len(planned))
    publish_time = datetime.datetime.now(datetime.UTC).isoformat()
    started = time.monotonic()

    def send(index: int) -> None:
        rng = random.Random(workload.seed * 100_003 + index)
        request = planned[index]
        if rng.random() < workload.fault_share:
            _inject_fault(ee_url, rng)
            figures.add(faults_injected=1)
        headers, body = event(request, publish_time)
        for _ in range(2 if request.duplicated else 1):
            figures.add(events_sent=1)
            _deliver_until_acknowledged(deliver, headers, body, rng, figures)

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(send, range(len(planned))))

    figures.seconds = time.monotonic() - started
    _count_outcomes(planned, gcs_url, ee_url, settings, figures)
    return figures


def _inject_fault(ee_url: str, rng: random.Random) -> None:
    fault: dict[str, Any] = {
        "fault": rng.choice(FAULT_KINDS),
        "method": rng.choice(FAULT_METHODS),
        "count": rng.randint(1, 3),
        "retry_after": 0,
        "delay_seconds": 0.3,
    }
    requests.post(f"{ee_url}/_standin/faults", json=fault, timeout=TIMEOUT)


def _deliver_until_acknowledged(
    deliver: Deliver,
    headers: Mapping[str, str],
    body: bytes,
    rng: random.Random,
    figures: Figures,
) -> None:
    for attempt in range(MAX_DELIVERIES):
        figures.add(deliveries=1, redeliveries=1 if attempt else 0)
        status = deliver(headers, body)
        if HTTPStatus.OK <= status < HTTPStatus.MULTIPLE_CHOICES:
            return
        low, high = REDELIVERY_BACKOFF
        time.sleep(rng.uniform(low, min(high, low * 2**attempt)))
    figures.add(dead_lettered=1)


def _count_outcomes(
    planned: list[PlannedRequest],
    gcs_url: str,
    ee_url: str,
    settings: Settings,
    figures: Figures,
) -> None:
    names = set(list_objects(gcs_url, settings.render_bucket, settings.object_prefix))
    results = {r.result_name for r in planned if r.result_name in names}
    failures = {r.failure_name for r in planned if r.failure_name in names}
    figures.results_written = len(results)
    figures.failures_recorded = len(failures)
    figures.lost = sum(
        1 for r in planned if r.result_name not in names and r.failure_name not in names
    )

    stats = requests.get(f"{ee_url}/_standin/stats", timeout=TIMEOUT).json()
    pixels = stats.get("responses", {}).get("thumbnails.getPixels", {})
    figures.duplicates_rendered = max(0, int(pixels.get("200", 0)) - len(results))


def list_objects(gcs_url: str, bucket: str, prefix: str) -> list[str]:
    """Return every object name under ``prefix`` through the JSON API."""
    names: list[str] = []
    token = ""
    while True:
        params = {"prefix": prefix, **({"pageToken": token} if token else {})}
        answer = requests.get(
            f"{gcs_url}/storage/v1/b/{quote(bucket, safe='')}/o",
            params=params,
            timeout=TIMEOUT,
        )
        answer.raise_for_status()
        page = answer.json()
        names += [item["name"] for item in page.get("items", [])]
        token = page.get("nextPageToken", "")
        if not token:
            return names


def http_deliver(url: str) -> Deliver:
    """Deliver events by POSTing them to a running function."""
    session = threading.local()

    def deliver(headers: Mapping[str, str], body: bytes) -> int:
        if not hasattr(session, "value"):
            session.value = requests.Session()
        try:
            answer = session.value.post(
                url, headers=dict(headers), data=body, timeout=120
            )
        except requests.RequestException:
            return 0
        return int(answer.status_code)

    return deliver


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.reliability", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--events", type=int, default=500, help="events to send")
    parser.add_argument("--duplicates", type=float, default=0.1, help="duplicate share")
    parser.add_argument("--faults", type=float, default=0.3, help="faulted share")
    parser.add_argument("--invalid", type=float, default=0.05, help="invalid share")
    parser.add_argument("--workers", type=int, default=8, help="concurrent deliveries")
    parser.add_argument("--seed", type=int, default=7, help="random seed")
    parser.add_argument(
        "--ee-attempts",
        type=int,
        default=1,
        help="EE_MAX_ATTEMPTS of the function; 1 lets more faults reach redelivery",
    )
    args = parser.parse_args(argv)
    workload = Workload(
        args.events, args.duplicates, args.faults, args.invalid, args.seed
    )

    from local import stack

    prefix = f"reliability/{uuid.uuid4().hex[:8]}/"
    with stack.running(
        events=True,
        RENDER_OBJECT_PREFIX=prefix,
        EE_MAX_ATTEMPTS=str(args.ee_attempts),
    ) as running:
        settings = Settings.from_environ(running.env)
        deliver = http_deliver(running.pubsub_function_url + "/")
        figures = run(
            deliver, running.ee_url, running.gcs_url, settings, workload, args.workers
        )
    print(
        f"python -m bench.reliability --events {args.events} --duplicates "
        f"{args.duplicates} --faults {args.faults} --invalid {args.invalid} "
        f"--workers {args.workers} --seed {args.seed} --ee-attempts {args.ee_attempts}"
    )
    print("\n".join(figures.lines()))
    return 0 if figures.lost == 0 and figures.duplicates_rendered == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
