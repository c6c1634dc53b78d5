"""Earth Engine calls made by repeated identical requests, read from the stand-in.

    python -m bench.ee_calls [--repeats 20]

Each case sends one request ``--repeats`` times to a ``render_http`` process and
reads the stand-in's ``/_standin/stats`` counters (reset before each case). While a
cached thumbnail id or a stored object is still valid, repeats should cost no Earth
Engine call: one thumbnails.create for all redirects, and one create plus one
getPixels for all stores. The cache-expiry case waits out a 2 s cache between two
bursts, so it should make exactly two creates.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import requests

from bench import backends, workload
from bench.instance import FunctionInstance

TIMEOUT = 60
SHORT_CACHE_SECONDS = 2


@dataclass(frozen=True)
class Case:
    """Requests sent as bursts, with a pause between bursts."""

    label: str
    request: dict[str, Any]
    env: Mapping[str, str]
    expected_status: HTTPStatus
    bursts: int = 1
    pause_seconds: float = 0.0


def cases() -> list[Case]:
    redirect = workload.elevation_request()
    store = {**workload.elevation_request("512x512"), "delivery": "store"}
    return [
        Case("redirect, cache on", redirect, {}, HTTPStatus.FOUND),
        Case(
            "redirect, cache off",
            redirect,
            {"THUMBNAIL_CACHE_SECONDS": "0"},
            HTTPStatus.FOUND,
        ),
        Case(
            f"redirect, {SHORT_CACHE_SECONDS} s cache, 2 bursts",
            redirect,
            {"THUMBNAIL_CACHE_SECONDS": str(SHORT_CACHE_SECONDS)},
            HTTPStatus.FOUND,
            bursts=2,
            pause_seconds=SHORT_CACHE_SECONDS + 0.5,
        ),
        Case("store, same object", store, {}, HTTPStatus.OK),
    ]


def run_case(local: backends.Backends, case: Case, repeats: int) -> dict[str, int]:
    """Send the case's requests and return the stand-in's request counts."""
    with FunctionInstance("render_http", local.function_env(**case.env)) as instance:
        local.reset_standin()
        for burst in range(case.bursts):
            if burst:
                time.sleep(case.pause_seconds)
            for _ in range(repeats // case.bursts):
                _send(instance.url, case)
        counts: dict[str, int] = local.standin_stats()["requests"]
        return counts


def _send(url: str, case: Case) -> None:
    answer = requests.post(
        url, json=case.request, allow_redirects=False, timeout=TIMEOUT
    )
    # A store's first request creates the object (201); the repeats find it (200).
    accepted = {case.expected_status, HTTPStatus.CREATED}
    if answer.status_code not in accepted:
        raise RuntimeError(f"{case.label}: {answer.status_code} {answer.text}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeats", type=int, default=20, help="identical requests per case"
    )
    arguments = parser.parse_args()
    print(f"Earth Engine calls for {arguments.repeats} identical requests:")
    print(f"  {'case':34} {'thumbnails.create':>18} {'getPixels':>10}")
    with backends.running() as local:
        for case in cases():
            counts = run_case(local, case, arguments.repeats)
            creates = counts.get("thumbnails.create", 0)
            downloads = counts.get("thumbnails.getPixels", 0)
            print(f"  {case.label:34} {creates:>18} {downloads:>10}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
