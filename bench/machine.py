"""The machine a benchmark ran on, printed next to its figures.

python -m bench.machine
"""

from __future__ import annotations

import datetime
import os
import platform
import sys
from pathlib import Path


def cpu_model() -> str:
    """Return the first ``model name`` of /proc/cpuinfo, or the platform's guess."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                return value.strip()
    return platform.processor() or "unknown"


def memory_gib() -> float | None:
    """Return MemTotal from /proc/meminfo in GiB, or None where there is none."""
    meminfo = Path("/proc/meminfo")
    if not meminfo.exists():
        return None
    for line in meminfo.read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / (1 << 20)
    return None


def usable_cpus() -> int:
    """Return the CPUs this process may run on, as ``nproc`` counts them."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def describe() -> list[str]:
    """Return the lines that identify this machine and run."""
    memory = memory_gib()
    return [
        f"date      {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC",
        f"cpus      {usable_cpus()} (nproc)",
        f"cpu       {cpu_model()}",
        f"memory    {memory:.1f} GiB" if memory else "memory    unknown",
        f"python    {platform.python_version()} ({sys.executable})",
        f"system    {platform.platform()}",
    ]


if __name__ == "__main__":
    print("\n".join(describe()))
