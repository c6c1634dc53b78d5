"""Per-request overhead of the redirect path against a bare thumbnails.create.

    python -m bench.overhead [--requests 600] [--levels 1,8,32]

Three loads run at each concurrency level, each thread with its own keep-alive
session, all against one Earth Engine stand-in on 127.0.0.1:

- floor: the exact ``thumbnails.create`` call the function makes, sent with requests
  straight to the stand-in;
- function, cache off: POST the render request to ``render_http`` with
  THUMBNAIL_CACHE_SECONDS=0, so every request calls thumbnails.create;
- function, cache on: the same identical request with the default cache, so after the
  first request no Earth Engine call is made.

The function runs under ``python -m functions_framework`` (gunicorn's threaded worker,
as gen2 serves concurrent requests) with as many threads as the highest level. It
prints the median and 99th percentile latency, requests per second for the one
instance, and the function's median against the floor's.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from typing import Any

import requests

from bench import backends, workload
from bench.instance import FunctionInstance
from bench.latency import Summary
from local import stack

TIMEOUT = 30
BARRIER_TIMEOUT = 120
# Sends one request on the session and returns once the response is read.
Send = Callable[[requests.Session], None]


def floor_sender(local: backends.Backends, request: dict[str, Any]) -> Send:
    """Return a sender of the bare thumbnails.create the function makes, same body
    and headers."""
    settings = workload.local_settings(local.ee_url, local.gcs_url)
    body = workload.thumbnail_body(request, settings)
    url = f"{local.ee_url}/v1/projects/{stack.LOCAL_PROJECT}/thumbnails"
    headers = {
        "Authorization": f"Bearer {stack.LOCAL_TOKEN}",
        "X-Goog-User-Project": stack.LOCAL_PROJECT,
    }

    def send(session: requests.Session) -> None:
        answer = session.post(
            url, params={"fields": "name"}, json=body, headers=headers, timeout=TIMEOUT
        )
        _expect(answer, HTTPStatus.OK)

    return send


def function_sender(function_url: str, request: dict[str, Any]) -> Send:
    def send(session: requests.Session) -> None:
        answer = session.post(
            function_url, json=request, allow_redirects=False, timeout=TIMEOUT
        )
        _expect(answer, HTTPStatus.FOUND)

    return send


def _expect(answer: requests.Response, status: HTTPStatus) -> None:
    if answer.status_code != status:
        raise RuntimeError(
            f"expected {status}, got {answer.status_code}: {answer.text}"
        )


def run_load(send: Send, concurrency: int, total: int) -> Summary:
    """Send ``total`` requests from ``concurrency`` threads; summarize the latencies.

    Each thread first sends one untimed request, so connection set-up is not timed.
    """
    per_thread = max(1, total // concurrency)
    barrier = threading.Barrier(concurrency + 1, timeout=BARRIER_TIMEOUT)

    def worker() -> list[float]:
        with requests.Session() as session:
            try:
                send(session)
                barrier.wait()
            except BaseException:
                barrier.abort()  # the main thread then raises this error
                raise
            latencies = []
            for _ in range(per_thread):
                started = time.perf_counter()
                send(session)
                latencies.append(time.perf_counter() - started)
            return latencies

    with ThreadPoolExecutor(concurrency) as pool:
        futures = [pool.submit(worker) for _ in range(concurrency)]
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            for future in futures:
                future.result()
            raise
        started = time.perf_counter()
        latencies = [seconds for future in futures for seconds in future.result()]
        elapsed = time.perf_counter() - started
    return Summary.of(latencies, elapsed)


def print_row(label: str, summary: Summary, floor: Summary | None) -> None:
    versus = ""
    if floor is not None:
        change = (summary.median_ms / floor.median_ms - 1) * 100
        versus = f"  median {change:+5.0f}% vs floor"
    print(
        f"  {label:22} {summary.median_ms:7.2f} ms {summary.p99_ms:8.2f} ms "
        f"{summary.per_second:8.0f}/s  (n={summary.count}){versus}"
    )


def measure(levels: list[int], total: int) -> None:
    request = workload.elevation_request()
    with backends.running() as local:
        floor = floor_sender(local, request)
        uncached_env = local.function_env(THUMBNAIL_CACHE_SECONDS="0")
        with (
            FunctionInstance("render_http", uncached_env, threads=max(levels)) as off,
            FunctionInstance(
                "render_http", local.function_env(), threads=max(levels)
            ) as on,
        ):
            loads = {
                "floor (bare create)": floor,
                "function, cache off": function_sender(off.url, request),
                "function, cache on": function_sender(on.url, request),
            }
            print(f"redirect path, {total} requests per load and level:")
            print(f"  {'load':22} {'median':>10} {'p99':>11} {'rate':>10}")
            for concurrency in levels:
                print(f" concurrency {concurrency}:")
                floor_summary = None
                for label, send in loads.items():
                    summary = run_load(send, concurrency, total)
                    print_row(label, summary, floor_summary)
                    floor_summary = floor_summary or summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--requests", type=int, default=600, help="timed requests per load and level"
    )
    parser.add_argument(
        "--levels", default="1,8,32", help="comma-separated concurrency levels"
    )
    arguments = parser.parse_args()
    levels = [int(level) for level in arguments.levels.split(",")]
    measure(levels, arguments.requests)
    return 0


if __name__ == "__main__":
    sys.exit(main())
