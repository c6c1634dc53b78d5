"""Cold start: process start to the first redirect served, ours against the client's.

    python -m bench.cold_start [--runs 15]

Each run starts a fresh ``functions-framework`` process on 127.0.0.1 and posts the
same render request until the first 302 arrives. ``render_http`` (main.py) is timed
against ``render_baseline`` (bench/baseline_function.py), which does the same job with
the official earthengine-api client; both call the same local Earth Engine stand-in.
``redirect_only`` (bench/framework_floor.py) calls nothing and gives the start every
functions-framework process pays. ``render_http`` from bench/http_only_main.py is the
product without the other triggers' handlers imported. The runs alternate, and the
medians and ratios are printed: of the whole times, and of the times above the floor.

It also prints ``python -X importtime`` figures for ``main`` and ``ee``, and checks
which Cloud Storage modules a process has loaded after serving one redirect. The
redirect path should load none, and the exit status is 1 when it loads any.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import requests

from bench import backends, workload
from bench.instance import FunctionInstance, python_environment
from local import stack

FIRST_REQUEST_TIMEOUT = 60.0
RETRY_SECONDS = 0.002
# Modules that only the store path needs. Loading any of them serves no redirect.
STORAGE_MODULES = ("google.cloud.storage", "google.resumable_media", "google.api_core")


@dataclass(frozen=True)
class Candidate:
    label: str
    target: str
    source: str


OURS = Candidate("render_http (this product)", "render_http", "main.py")
BASELINE = Candidate(
    "render_baseline (ee client)", "render_baseline", "bench/baseline_function.py"
)
FLOOR = Candidate(
    "redirect_only (framework floor)", "redirect_only", "bench/framework_floor.py"
)
HTTP_ONLY = Candidate(
    "render_http, HTTP handler only", "render_http", "bench/http_only_main.py"
)
CANDIDATES = (OURS, BASELINE, FLOOR, HTTP_ONLY)


def time_to_first_redirect(
    candidate: Candidate, env: dict[str, str], request: dict[str, Any]
) -> float:
    """Start a fresh process and return the seconds until it served a 302."""
    instance = FunctionInstance(
        candidate.target, env, source=stack.ROOT / candidate.source
    )
    started = instance.launch()
    try:
        while time.monotonic() - started < FIRST_REQUEST_TIMEOUT:
            try:
                answer = requests.post(
                    instance.url, json=request, allow_redirects=False, timeout=30
                )
            except requests.ConnectionError:
                time.sleep(RETRY_SECONDS)
                continue
            if answer.status_code != HTTPStatus.FOUND:
                raise RuntimeError(
                    f"{candidate.label} returned {answer.status_code}: {answer.text}"
                )
            return time.monotonic() - started
        raise RuntimeError(f"{candidate.label} served nothing within the time-out")
    finally:
        instance.stop()


def import_milliseconds(module: str) -> tuple[float, list[tuple[str, float]]]:
    """Return the cumulative import time of ``module`` and of its largest imports."""
    output = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        cwd=stack.ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    rows = []
    for line in output.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        _, cumulative, name = line.removeprefix("import time:").split("|")
        rows.append((name.rstrip(), int(cumulative) / 1000))
    total = next(ms for name, ms in rows if name.strip() == module)
    # importtime indents each level by two spaces after one: direct imports have 3.
    direct = [(name.strip(), ms) for name, ms in rows if _indent(name) == 3]
    return total, sorted(direct, key=lambda row: -row[1])[:8]


def _indent(name: str) -> int:
    return len(name) - len(name.lstrip(" "))


def modules_after_redirect(env: dict[str, str]) -> list[str]:
    """Serve one redirect in a fresh process; return the storage modules it loaded."""
    script = (
        "import json, sys\n"
        "from functions_framework import create_app\n"
        "app = create_app('render_http', 'main.py')\n"
        f"request = {workload.elevation_request()!r}\n"
        "answer = app.test_client().post('/', json=request)\n"
        "assert answer.status_code == 302, answer.get_data(as_text=True)\n"
        f"prefixes = {STORAGE_MODULES!r}\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith(prefixes))))\n"
    )
    output = subprocess.run(
        [sys.executable, "-c", script],
        cwd=stack.ROOT,
        env={**python_environment(), **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    loaded: list[str] = json.loads(output.splitlines()[-1])
    return loaded


def measure_cold_starts(runs: int) -> list[str]:
    """Print the cold starts; return the storage modules a redirect loaded."""
    request = workload.elevation_request()
    seconds: dict[str, list[float]] = {candidate.label: [] for candidate in CANDIDATES}
    with backends.running() as local:
        env = local.function_env()
        for _ in range(runs):
            for candidate in CANDIDATES:
                seconds[candidate.label].append(
                    time_to_first_redirect(candidate, env, request)
                )
        loaded = modules_after_redirect(env)
    print_cold_starts(seconds, runs)
    return loaded


def print_cold_starts(seconds: dict[str, list[float]], runs: int) -> None:
    print(f"cold start to first redirect, {runs} fresh processes each:")
    print(f"  {'function':34} {'median':>9} {'min':>9}")
    for candidate in CANDIDATES:
        times = seconds[candidate.label]
        median_ms = statistics.median(times) * 1000
        print(f"  {candidate.label:34} {median_ms:6.0f} ms {min(times) * 1000:6.0f} ms")

    ours, baseline, floor, http_only = (
        statistics.median(seconds[candidate.label]) for candidate in CANDIDATES
    )
    print(f"  ratio ours / baseline: {ours / baseline:.2f} (goal: 0.33 or less)")
    print(
        "  ratio above the framework floor: "
        f"{(ours - floor) / (baseline - floor):.2f} "
        f"({(ours - floor) * 1000:.0f} ms / {(baseline - floor) * 1000:.0f} ms)"
    )
    print(f"  ratio HTTP handler only / baseline: {http_only / baseline:.2f}")


def print_import_times() -> None:
    for module in ("main", "ee"):
        total, largest = import_milliseconds(module)
        print(f"python -X importtime -c 'import {module}': {total:.0f} ms cumulative")
        for name, ms in largest:
            print(f"    {name:40} {ms:7.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs", type=int, default=15, help="fresh processes per function"
    )
    arguments = parser.parse_args()
    loaded = measure_cold_starts(arguments.runs)
    print_import_times()
    if loaded:
        first_five = ", ".join(loaded[:5]) + (", ..." if len(loaded) > 5 else "")
        print(
            f"FAILED: one redirect loaded {len(loaded)} storage modules: {first_five}"
        )
        return 1
    print("storage modules loaded by one redirect: none")
    return 0


if __name__ == "__main__":
    sys.exit(main())
