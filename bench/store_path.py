"""Store path: throughput and peak memory while an image is copied into Cloud Storage.

    python -m bench.store_path [--sizes 4,16,48] [--chunk-mib 8]

For each size (MiB) a fresh ``render_http`` process under functions-framework stores
an NPY of constant ones that is exactly that many bytes long (bench/workload.py picks
the grid). A thread samples the gunicorn worker's RSS every 5 ms from /proc while the
request runs. Two floors are timed in this process for the same bytes. The fetch
floor is thumbnails.create and getPixels read to the end, from the stand-in alone.
The upload floor is google-cloud-storage's resumable upload from memory, with the
same chunk size, to the same fake-gcs-server. The function streams one into the
other, so its time should be near the sum of the two. Peak memory above the idle worker
should stay flat as the image grows: the upload holds one chunk (STORE_CHUNK_BYTES,
8 MiB by default) at a time, never the whole image.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import requests

from bench import backends, workload
from bench.instance import FunctionInstance, MemorySampler
from local import stack

TIMEOUT = 300
MIB = workload.MIB


@dataclass(frozen=True)
class StoreRun:
    """One stored image: its size, how long it took and the worker's memory."""

    size: int
    seconds: float
    fetch_seconds: float
    upload_seconds: float
    idle_kib: int
    peak_kib: int

    def row(self) -> str:
        mib = self.size / MIB
        growth = (self.peak_kib - self.idle_kib) / 1024
        return (
            f"  {mib:4.0f} MiB {self.size:>10} {self.seconds:6.2f} s "
            f"{mib / self.seconds:6.1f} MiB/s {self.fetch_seconds:7.2f} s "
            f"{self.upload_seconds:7.2f} s {self.idle_kib / 1024:7.1f} MiB "
            f"{self.peak_kib / 1024:6.1f} MiB {growth:+6.1f} MiB"
        )


HEADER = (
    f"  {'size':>8} {'bytes':>10} {'time':>8} {'rate':>11} {'fetch':>9} "
    f"{'upload':>9} {'RSS idle':>11} {'peak':>10} {'growth':>10}"
)


def fetch_from_standin(local: backends.Backends, request: dict[str, Any]) -> float:
    """Return the seconds to create the thumbnail and read its pixels to the end."""
    settings = workload.local_settings(local.ee_url, local.gcs_url)
    body = workload.thumbnail_body(request, settings)
    base = f"{local.ee_url}/v1/projects/{stack.LOCAL_PROJECT}"
    headers = {"Authorization": f"Bearer {stack.LOCAL_TOKEN}"}
    started = time.perf_counter()
    created = requests.post(
        f"{base}/thumbnails", json=body, headers=headers, timeout=TIMEOUT
    )
    created.raise_for_status()
    pixels_url = f"{local.ee_url}/v1/{created.json()['name']}:getPixels"
    with requests.get(pixels_url, stream=True, timeout=TIMEOUT) as pixels:
        pixels.raise_for_status()
        for _ in pixels.iter_content(1 << 20):
            pass
    return time.perf_counter() - started


def upload_from_memory(local: backends.Backends, size: int, chunk: int) -> float:
    """Return the seconds google-cloud-storage takes to upload ``size`` bytes."""
    os.environ["STORAGE_EMULATOR_HOST"] = local.gcs_url
    from google.cloud import storage

    client = storage.Client(project=stack.LOCAL_PROJECT)
    blob = client.bucket(stack.RENDER_BUCKET).blob(
        f"upload-floor/{size}-{chunk}", chunk_size=chunk
    )
    data = io.BytesIO(bytes(size))
    started = time.perf_counter()
    blob.upload_from_file(data, if_generation_match=0, checksum="crc32c")
    return time.perf_counter() - started


def store_once(local: backends.Backends, size: int, chunk: int) -> StoreRun:
    request = workload.npy_store_request(size, tag=chunk)
    fetch_seconds = fetch_from_standin(local, workload.npy_store_request(size, tag=1))
    upload_seconds = upload_from_memory(local, size, chunk)
    env = local.function_env(STORE_CHUNK_BYTES=str(chunk))
    with FunctionInstance("render_http", env) as instance:
        worker = instance.worker_pid()
        requests.get(f"{instance.url}/__ready__", timeout=TIMEOUT)
        with MemorySampler(worker) as memory:
            started = time.perf_counter()
            answer = requests.post(instance.url, json=request, timeout=TIMEOUT)
            seconds = time.perf_counter() - started
    if answer.status_code != HTTPStatus.CREATED:
        raise RuntimeError(f"store returned {answer.status_code}: {answer.text}")
    stored = answer.json()["size"]
    if stored != size:
        raise RuntimeError(f"stored {stored} bytes, expected {size}")
    return StoreRun(
        size,
        seconds,
        fetch_seconds,
        upload_seconds,
        memory.start_kib,
        memory.peak_kib,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default="4,16,48", help="comma-separated image sizes in MiB"
    )
    parser.add_argument(
        "--chunk-mib",
        type=int,
        default=8,
        help="STORE_CHUNK_BYTES of the function, in MiB (default: %(default)s)",
    )
    arguments = parser.parse_args()
    sizes = [int(size) * MIB for size in arguments.sizes.split(",")]
    chunk = arguments.chunk_mib * MIB
    print(f"store path with {arguments.chunk_mib} MiB chunks, one fresh function")
    print("process per size (fetch and upload are the floors, timed alone; RSS is")
    print("the gunicorn worker's):")
    print(HEADER)
    with backends.running() as local:
        for size in sizes:
            print(store_once(local, size, chunk).row(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
