"""A function instance for benchmarks: functions-framework in its own process.

``python -m functions_framework`` serves through gunicorn's threaded worker, the server
Cloud Functions gen2 runs, so the figures include its request handling. The gunicorn
arbiter forks one worker; the worker is the process whose memory matters.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import requests

from local import stack

READY_TIMEOUT = 60.0
POLL_SECONDS = 0.002


class FunctionInstance:
    """One functions-framework process on 127.0.0.1, stopped when the block ends."""

    def __init__(
        self,
        target: str,
        env: Mapping[str, str],
        source: Path = stack.ROOT / "main.py",
        threads: int | None = None,
    ) -> None:
        self.port = stack.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._command = [
            sys.executable, "-m", "functions_framework",
            "--target", target, "--source", str(source),
            "--host", "127.0.0.1", "--port", str(self.port),
        ]  # fmt: skip
        self._env = dict(env)
        if threads is not None:
            # functions-framework reads THREADS for gunicorn's worker threads.
            self._env["THREADS"] = str(threads)
        self._log_path = stack.LOG_DIR / f"bench-{target}.log"
        self.popen: subprocess.Popen[bytes] | None = None

    def launch(self) -> float:
        """Start the process without waiting; return the monotonic start time."""
        stack.LOG_DIR.mkdir(parents=True, exist_ok=True)
        log = self._log_path.open("ab")
        started = time.monotonic()
        self.popen = subprocess.Popen(
            self._command,
            cwd=stack.ROOT,
            env={**python_environment(), **self._env},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()  # the child keeps its own descriptor
        return started

    def wait_ready(self) -> None:
        """Poll until the server answers any HTTP request."""
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                requests.get(f"{self.url}/__ready__", timeout=2)
                return
            except requests.ConnectionError:
                time.sleep(0.02)
        raise RuntimeError(f"{self.url} did not start; see {self._log_path}")

    def worker_pid(self) -> int:
        """Return the pid of gunicorn's worker, the child of the arbiter."""
        assert self.popen is not None
        deadline = time.monotonic() + READY_TIMEOUT
        children = Path(f"/proc/{self.popen.pid}/task/{self.popen.pid}/children")
        while time.monotonic() < deadline:
            pids = children.read_text().split()
            if pids:
                return int(pids[0])
            time.sleep(0.05)
        raise RuntimeError(f"no gunicorn worker under pid {self.popen.pid}")

    def stop(self) -> None:
        if self.popen is None:
            return
        self.popen.terminate()
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
        self.popen = None

    def _check_alive(self) -> None:
        assert self.popen is not None
        if self.popen.poll() is not None:
            raise RuntimeError(
                f"the function exited with {self.popen.returncode}; "
                f"see {self._log_path}"
            )

    def __enter__(self) -> FunctionInstance:
        self.launch()
        self.wait_ready()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def python_environment() -> dict[str, str]:
    """Return only what a Python process needs, so the shell's settings stay out."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV")
    return {name: os.environ[name] for name in keep if name in os.environ}


def resident_kib(pid: int) -> int:
    """Return the resident set size of ``pid`` in KiB, from /proc/PID/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/{pid}/status has no VmRSS line")


class MemorySampler:
    """Samples a process's RSS on a thread while the block runs and keeps the peak."""

    def __init__(self, pid: int, interval: float = 0.005) -> None:
        self._pid = pid
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.start_kib = 0
        self.peak_kib = 0
        self.samples = 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_kib = max(self.peak_kib, resident_kib(self._pid))
            self.samples += 1
            self._stop.wait(self._interval)

    def __enter__(self) -> MemorySampler:
        self.start_kib = resident_kib(self._pid)
        self.peak_kib = self.start_kib
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_kib = max(self.peak_kib, resident_kib(self._pid))
