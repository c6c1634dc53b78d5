"""Run every benchmark in turn and print their figures; ``make bench`` runs this.

    python bench/run_all.py [--quick]

Each benchmark runs as ``python -m bench.NAME`` in its own process, with its exact
command printed above its figures and the machine described once at the top. Every
benchmark starts its own servers on 127.0.0.1 and stops by itself; a time-out per
benchmark bounds the whole run. The exit status is 1 when any benchmark failed.
``--quick`` sends fewer requests, for checking that the scripts still run.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import machine  # noqa: E402

# Module and arguments of each benchmark, full run and quick run.
BENCHMARKS: list[tuple[str, list[str], list[str]]] = [
    ("bench.cold_start", ["--runs", "15"], ["--runs", "2"]),
    ("bench.overhead", ["--requests", "600"], ["--requests", "64"]),
    ("bench.store_path", ["--sizes", "4,16,48"], ["--sizes", "4"]),
    ("bench.store_path", ["--chunk-mib", "2"], ["--sizes", "4", "--chunk-mib", "2"]),
    ("bench.ee_calls", ["--repeats", "20"], ["--repeats", "4"]),
    ("bench.standin_render", ["--runs", "20"], ["--runs", "2"]),
    ("bench.reliability", ["--events", "500"], ["--events", "40"]),
]
TIMEOUT_SECONDS = 300


def run(module: str, arguments: list[str]) -> bool:
    """Run one benchmark with its output going straight to ours; return success."""
    command = [sys.executable, "-m", module, *arguments]
    print(f"\n$ python -m {module} {' '.join(arguments)}", flush=True)
    started = time.monotonic()
    try:
        finished = subprocess.run(command, cwd=ROOT, timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        print(f"{module} timed out after {TIMEOUT_SECONDS} s", flush=True)
        return False
    elapsed = time.monotonic() - started
    print(f"({module} exited with {finished.returncode} after {elapsed:.0f} s)")
    return finished.returncode == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="fewer requests, to check the scripts run"
    )
    arguments = parser.parse_args()
    print("\n".join(machine.describe()), flush=True)

    started = time.monotonic()
    failed = []
    for module, full, quick in BENCHMARKS:
        if not run(module, quick if arguments.quick else full):
            failed.append(module)
    print(f"\nall benchmarks: {time.monotonic() - started:.0f} s")
    if failed:
        print(f"failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
