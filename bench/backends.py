"""The local services a benchmarked function calls: the Earth Engine stand-in and
fake-gcs-server, the same processes ``make demo`` and the tests start."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import requests

from local import stack

TIMEOUT = 30


@dataclass(frozen=True)
class Backends:
    """Base URLs of the running stand-ins."""

    ee_url: str
    gcs_url: str

    def function_env(self, **overrides: str) -> dict[str, str]:
        return stack.function_env(self.ee_url, self.gcs_url, **overrides)

    def reset_standin(self) -> None:
        """Clear the stand-in's counters, faults and thumbnail ids."""
        answer = requests.post(f"{self.ee_url}/_standin/reset", timeout=TIMEOUT)
        answer.raise_for_status()

    def standin_stats(self) -> dict[str, Any]:
        answer = requests.get(f"{self.ee_url}/_standin/stats", timeout=TIMEOUT)
        answer.raise_for_status()
        stats: dict[str, Any] = answer.json()
        return stats


@contextlib.contextmanager
def running(*standin_args: str) -> Iterator[Backends]:
    """Run the stand-in and fake-gcs-server, with the render bucket, until the block
    ends."""
    gcs = stack.fake_gcs(stack.free_port())
    standin = stack.standin(stack.free_port(), *standin_args, storage_url=gcs.url)
    # The same stand-in, with production socket settings (bench/standin_server.py).
    standin.command[standin.command.index("standin")] = "bench.standin_server"
    started: list[stack.Process] = []
    try:
        for process in (gcs, standin):
            process.start()
            started.append(process)
        stack.create_bucket(gcs.url, stack.RENDER_BUCKET)
        yield Backends(standin.url, gcs.url)
    finally:
        for process in reversed(started):
            process.stop()
