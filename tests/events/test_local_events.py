"""The local event stack end to end: publish and upload, then see the results appear."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from local import stack
from tests.events.eventarc import elevation_request, names, upload

WAIT_SECONDS = 60


@pytest.fixture(scope="module")
def running() -> Iterator[stack.Stack]:
    # Renders may go to the upload bucket, the layout a trigger could loop on.
    overrides = {"RENDER_ALLOWED_BUCKETS": stack.UPLOAD_BUCKET}
    with stack.running(events=True, **overrides) as local_stack:
        yield local_stack


def wait_for(check: Callable[[], Any]) -> Any:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"nothing appeared within {WAIT_SECONDS} s")


def test_publish_command_renders(running: stack.Stack, tmp_path: Any) -> None:
    request_file = tmp_path / "request.json"
    request_file.write_text(json.dumps(elevation_request(dimensions=60)))
    env = {**os.environ, "PUBSUB_API_URL": running.pubsub_url}

    published = subprocess.run(
        [sys.executable, "-m", "local.publish", str(request_file), "--wait", "60"],
        cwd=stack.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert published.returncode == 0, published.stderr
    outcome = json.loads(published.stdout.split("\n", 1)[1])
    assert outcome["status"] == "rendered"
    assert outcome["uri"].startswith(f"gs://{stack.RENDER_BUCKET}/renders/")


def test_upload_is_delivered_once(running: stack.Stack) -> None:
    requests.post(f"{running.ee_url}/_standin/reset", timeout=10).raise_for_status()
    request = elevation_request(
        dimensions=50,
        delivery="store",
        destination={"bucket": stack.UPLOAD_BUCKET, "object": "renders/r-e2e.png"},
    )
    upload(
        running.gcs_url,
        stack.UPLOAD_BUCKET,
        "requests/r-e2e.json",
        json.dumps(request).encode(),
        "application/json",
    )

    # The request file and the render it writes into the same bucket are both
    # delivered; only the first renders.
    stats = wait_for(lambda: _delivered(running, 2))
    assert stats["delivered"] == 2
    assert stats["dead_lettered"] == 0
    assert "renders/r-e2e.png" in names(
        running.gcs_url, stack.UPLOAD_BUCKET, "renders/"
    )
    ee = requests.get(f"{running.ee_url}/_standin/stats", timeout=10).json()
    assert ee["responses"]["thumbnails.getPixels"]["200"] == 1


def _delivered(running: stack.Stack, count: int) -> dict[str, Any] | None:
    stats: dict[str, Any] = requests.get(
        f"{running.delivery_url}/_delivery/stats", timeout=10
    ).json()
    return stats if stats["delivered"] >= count else None
