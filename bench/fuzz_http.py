"""Schemathesis over the HTTP function with many cases: statuses, failures and rate.

    python -m bench.fuzz_http --examples 500

Starts the HTTP function under functions-framework on 127.0.0.1 with the Earth Engine
stand-in, fake-gcs-server and a Pub/Sub stand-in, as the test suite's ``live`` fixture
does. It then sends ``--examples`` generated cases per operation of docs/openapi.yaml
and per generation mode (valid and invalid inputs). Every failure is listed and the
run goes on.

It prints the cases sent, the count of each status, the failures (5xx answers,
statuses or bodies the description does not list, objects written for rejected
requests) and cases per second on this machine. The right figure for failures is 0.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from local import stack
from tests.abuse import fuzzing


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--examples",
        type=int,
        default=500,
        help="generated cases per operation and generation mode",
    )
    arguments = parser.parse_args()

    report = fuzzing.FuzzReport()

    def record(case: Any, error: Exception) -> None:
        report.failures.append(f"{case.method} {case.path}: {error}")

    pubsub = stack.pubsub_standin(stack.free_port(), {})
    pubsub.start()
    topic = f"projects/{stack.LOCAL_PROJECT}/topics/{stack.REQUEST_TOPIC}"
    started = time.monotonic()
    try:
        with stack.running(PUBSUB_API_URL=pubsub.url, REQUEST_TOPIC=topic) as running:
            started = time.monotonic()
            for operation, mode in fuzzing.targets():
                fuzzing.fuzz(
                    operation, mode, running, arguments.examples, report, record
                )
    finally:
        pubsub.stop()
    elapsed = time.monotonic() - started

    print(f"cases sent: {report.cases}")
    for status, count in sorted(report.statuses.items()):
        print(f"  {status}: {count}")
    print(f"failures: {len(report.failures)}")
    for failure in report.failures[:20]:
        print(f"  {failure[:300]}")
    print(f"rate: {report.cases / elapsed:.0f} cases/s over {elapsed:.1f} s")
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
