"""Render real images end to end on the local stand-ins and write them under out/.

Run with `make demo`. It starts the Earth Engine stand-in, fake-gcs-server and the HTTP
function on free ports of 127.0.0.1, sends render requests in both delivery modes,
follows the redirect, downloads the stored copy, checks each image decodes at the
requested size, and stops everything.
"""

from __future__ import annotations

import base64
import io
import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests
from PIL import Image

from local import stack

OUT = stack.ROOT / "out"
TIMEOUT = 60

ELEVATION = {
    "result": "0",
    "values": {
        "0": {
            "functionInvocationValue": {
                "functionName": "Image.load",
                "arguments": {"id": {"constantValue": "USGS/SRTMGL1_003"}},
            }
        }
    },
}

# The classic Earth Engine elevation thumbnail, over the Himalaya.
PALETTED_ELEVATION: dict[str, Any] = {
    "expression": ELEVATION,
    "region": [70, 20, 100, 40],
    "dimensions": "768x512",
    "min": 0,
    "max": 6000,
    "palette": ["006633", "E5FFCC", "662A00", "D8D8D8", "F5F5F5"],
    "format": "png",
}


def check_image(data: bytes, expected_size: tuple[int, int], path: Path) -> str:
    image = Image.open(io.BytesIO(data))
    image.load()
    if image.size != expected_size:
        raise SystemExit(f"{path.name}: expected {expected_size}, got {image.size}")
    path.write_bytes(data)
    width, height = image.size
    name = path.relative_to(stack.ROOT)
    return f"{name} ({image.format} {width}x{height}, {len(data)} bytes)"


def redirect_demo(function_url: str) -> None:
    answer = requests.post(
        function_url, json=PALETTED_ELEVATION, allow_redirects=False, timeout=TIMEOUT
    )
    answer.raise_for_status()
    location = answer.headers["Location"]
    print(f"POST redirect -> {answer.status_code} Location: {location}")
    pixels = requests.get(location, timeout=TIMEOUT)
    pixels.raise_for_status()
    print(
        "  wrote",
        check_image(pixels.content, (768, 512), OUT / "elevation-redirect.png"),
    )


def query_demo(function_url: str) -> None:
    params = {
        "request": base64.urlsafe_b64encode(
            json.dumps({"expression": ELEVATION}).encode()
        )
        .decode()
        .rstrip("="),
        "region": "-125,24,-66,50",
        "dimensions": "600x264",
        "min": "0",
        "max": "3000",
        "palette": "blue,green,yellow,red,white",
    }
    answer = requests.get(function_url, params=params, timeout=TIMEOUT)
    answer.raise_for_status()
    print(f"GET as <img src> -> followed to {answer.url.split('?')[0]}")
    print(
        "  wrote", check_image(answer.content, (600, 264), OUT / "elevation-query.png")
    )


def store_demo(stack_urls: stack.Stack) -> None:
    body = {**PALETTED_ELEVATION, "delivery": "store"}
    answer = requests.post(stack_urls.function_url, json=body, timeout=TIMEOUT)
    answer.raise_for_status()
    stored = answer.json()
    print(
        f"POST store -> {answer.status_code} {stored['uri']} "
        f"newly_rendered={stored['newly_rendered']}"
    )
    url = (
        f"{stack_urls.gcs_url}/storage/v1/b/{stored['bucket']}/o/"
        f"{quote(stored['object'], safe='')}?alt=media"
    )
    data = requests.get(url, timeout=TIMEOUT)
    data.raise_for_status()
    print(
        "  wrote", check_image(data.content, (768, 512), OUT / "elevation-stored.png")
    )

    again = requests.post(stack_urls.function_url, json=body, timeout=TIMEOUT)
    again.raise_for_status()
    print(
        f"POST store again -> {again.status_code} "
        f"newly_rendered={again.json()['newly_rendered']}"
    )


def main() -> int:
    OUT.mkdir(exist_ok=True)
    print(
        "Starting the Earth Engine stand-in, fake-gcs-server and the HTTP function..."
    )
    with stack.running(STARTUP_CHECK="true") as running:
        print(
            f"  function {running.function_url}\n"
            f"  earth engine {running.ee_url}\n"
            f"  storage {running.gcs_url}"
        )
        redirect_demo(running.function_url)
        query_demo(running.function_url)
        store_demo(running)
    print("Done; servers stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
