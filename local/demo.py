"""Render real images end to end on the local stand-ins and write them under out/.

Run with `make demo`. It starts the Earth Engine stand-in, fake-gcs-server and the HTTP
function on free ports of 127.0.0.1, sends render requests in both delivery modes,
follows the redirect, downloads the stored copy, checks each image decodes at the
requested size, and stops everything. The events part publishes a request to the local
Pub/Sub stand-in and uploads an elevation GeoTIFF, whose preview the bucket trigger
renders. The chat part sends a signed Slack slash command, whose image the Slack
function posts to the chat stand-in's response_url, and a Google Chat message with a
signed token, answered with a card.
"""

from __future__ import annotations

import base64
import io
import json
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import requests
from PIL import Image

from local import stack
from local.chat_standin import slack_headers

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


def recipe_demo(function_url: str) -> None:
    """Render the land cover and true-colour recipes as <img src> links would."""
    for recipe, bbox, name in (
        ("landcover", "-20,-35,55,38", "landcover.png"),
        ("truecolour", "-20,-35,55,38", "truecolour.png"),
    ):
        params = {
            "recipe": recipe,
            "bbox": bbox,
            "dimensions": "600x568",
            "format": "png",
        }
        answer = requests.get(function_url, params=params, timeout=TIMEOUT)
        answer.raise_for_status()
        print(f"GET ?recipe={recipe}&bbox={bbox}")
        print("  wrote", check_image(answer.content, (600, 568), OUT / name))


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


# Previews of uploaded elevation GeoTIFFs, with the same classic palette.
ELEVATION_PREVIEW = {
    "dimensions": 512,
    "min": 0,
    "max": 8000,
    "palette": PALETTED_ELEVATION["palette"],
    "format": "png",
}
# Nepal and the Tibetan plateau, wide enough to show at the stand-in's resolution.
HIMALAYA = [80, 26, 92, 32]


def pubsub_demo(running: stack.Stack) -> None:
    """Publish a render request and fetch the object its announcement names."""
    from local import publish

    request = {**PALETTED_ELEVATION, "region": [5, 44, 12, 48], "dimensions": "700x400"}
    request_id = "demo-alps"
    request_file = OUT / "alps-request.json"
    request_file.write_text(json.dumps(request))
    publish.main(
        [str(request_file), "--api-url", running.pubsub_url]
        + ["--attribute", f"request_id={request_id}"]
    )
    outcome = publish.wait_for_outcome(running.pubsub_url, request_id, TIMEOUT)
    if outcome is None or outcome.get("status") != "rendered":
        raise SystemExit(f"request {request_id} was not rendered: {outcome}")
    print(f"  announced on {stack.RESULTS_TOPIC}: {outcome['uri']}")
    data = download(running.gcs_url, outcome["bucket"], outcome["object"])
    print("  wrote", check_image(data, (700, 400), OUT / "alps-pubsub.png"))


def geotiff_demo(running: stack.Stack) -> None:
    """Upload an elevation GeoTIFF and wait for the bucket trigger's preview."""
    geotiff: dict[str, Any] = {
        "expression": ELEVATION,
        "region": HIMALAYA,
        "dimensions": "600x300",
        "format": "GEO_TIFF",
    }
    answer = requests.post(
        running.function_url,
        json=geotiff,
        headers={"Accept": "application/json"},
        timeout=TIMEOUT,
    )
    answer.raise_for_status()
    tiff = requests.get(answer.json()["url"], timeout=TIMEOUT)
    tiff.raise_for_status()
    (OUT / "himalaya.tif").write_bytes(tiff.content)

    name = "dem/himalaya.tif"
    upload_url = (
        f"{running.gcs_url}/upload/storage/v1/b/{stack.UPLOAD_BUCKET}/o"
        f"?uploadType=media&name={quote(name, safe='')}"
    )
    uploaded = requests.post(
        upload_url,
        data=tiff.content,
        headers={"Content-Type": "image/tiff"},
        timeout=TIMEOUT,
    )
    uploaded.raise_for_status()
    print(f"Uploaded gs://{stack.UPLOAD_BUCKET}/{name} ({len(tiff.content)} bytes)")

    prefix = f"renders/previews/{stack.UPLOAD_BUCKET}/{name}."
    preview = wait_for_object(running.gcs_url, stack.RENDER_BUCKET, prefix)
    print(f"  preview gs://{stack.RENDER_BUCKET}/{preview}")
    data = download(running.gcs_url, stack.RENDER_BUCKET, preview)
    print("  wrote", check_image(data, (512, 256), OUT / "himalaya-preview.png"))


def wait_for_object(gcs_url: str, bucket: str, prefix: str) -> str:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        listing = requests.get(
            f"{gcs_url}/storage/v1/b/{bucket}/o",
            params={"prefix": prefix},
            timeout=TIMEOUT,
        )
        listing.raise_for_status()
        items = listing.json().get("items", [])
        finished = [i["name"] for i in items if not i["name"].endswith(".json")]
        if finished:
            return str(finished[0])
        if items:
            record = download(gcs_url, bucket, items[0]["name"])
            raise SystemExit(f"the preview failed: {record.decode()[:2000]}")
        time.sleep(0.2)
    raise SystemExit(f"no object under gs://{bucket}/{prefix} within {TIMEOUT} s")


def download(gcs_url: str, bucket: str, name: str) -> bytes:
    url = f"{gcs_url}/storage/v1/b/{bucket}/o/{quote(name, safe='')}?alt=media"
    data = requests.get(url, timeout=TIMEOUT)
    data.raise_for_status()
    return data.content


def slack_demo(running: stack.Stack) -> None:
    """Send a signed slash command and wait for the image posted to response_url."""
    form = {
        "command": "/render",
        "text": "srtm 10,45,11,46",
        "response_url": f"{running.chat_standin_url}/slack/response/T000/000/XXXX",
        "team_id": "T000",
        "user_id": "U000",
        "channel_id": "C000",
        "trigger_id": "000.000",
    }
    body = urlencode(form).encode()
    headers = slack_headers(body, stack.LOCAL_SLACK_SECRET)
    answer = requests.post(
        running.slack_function_url, data=body, headers=headers, timeout=TIMEOUT
    )
    answer.raise_for_status()
    print(
        f"Slack /render {form['text']} -> {answer.status_code} {answer.json()['text']}"
    )
    # Slack waits 3 s for this reply; the render runs later, in the Pub/Sub function.
    print(f"  acknowledged in {answer.elapsed.total_seconds() * 1000:.0f} ms")

    post = wait_for_post(running.chat_standin_url, "slack")
    image_url = post["message"]["blocks"][1]["image_url"]
    image = requests.get(image_url, timeout=TIMEOUT)
    image.raise_for_status()
    print(f"  posted to response_url: {post['message']['text']}")
    print("  wrote", check_image(image.content, (768, 768), OUT / "slack-srtm.png"))


def chat_demo(running: stack.Stack) -> None:
    """Send a Chat slash command with a token the chat stand-in signs."""
    claims = {
        "iss": "chat@system.gserviceaccount.com",
        "aud": stack.LOCAL_PROJECT_NUMBER,
    }
    token = requests.post(
        f"{running.chat_standin_url}/_standin/token", json=claims, timeout=TIMEOUT
    ).json()["token"]
    event: dict[str, Any] = {
        "type": "MESSAGE",
        "space": {"name": "spaces/LOCAL", "type": "ROOM"},
        "user": {"name": "users/1", "displayName": "Local user"},
        "message": {
            "name": "spaces/LOCAL/messages/1",
            "text": "/render ndvi",
            "argumentText": " ndvi",
            "slashCommand": {"commandId": "1"},
            "thread": {"name": "spaces/LOCAL/threads/1"},
        },
    }
    answer = requests.post(
        running.chat_function_url,
        json=event,
        headers={"Authorization": f"Bearer {token}"},
        timeout=TIMEOUT,
    )
    answer.raise_for_status()
    reply = answer.json()
    if "cardsV2" not in reply:
        print(f"Chat /render ndvi -> {reply['text']}")
        reply = wait_for_post(running.chat_standin_url, "chat")["message"]
    card = reply["cardsV2"][0]["card"]
    image_url = card["sections"][0]["widgets"][0]["image"]["imageUrl"]
    print(f"Chat /render ndvi -> card {card['header']['subtitle']!r}")
    image = requests.get(image_url, timeout=TIMEOUT)
    image.raise_for_status()
    print("  wrote", check_image(image.content, (454, 512), OUT / "chat-ndvi.png"))


def wait_for_post(chat_standin_url: str, kind: str) -> dict[str, Any]:
    """Return the first message the chat stand-in recorded for ``kind``."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        posts = requests.get(f"{chat_standin_url}/_standin/posts", timeout=10).json()
        if posts[kind]:
            post: dict[str, Any] = posts[kind][0]
            return post
        time.sleep(0.2)
    raise SystemExit(f"No {kind} message was posted within {TIMEOUT} s")


def main() -> int:
    OUT.mkdir(exist_ok=True)
    print(
        "Starting the Earth Engine stand-in, fake-gcs-server, Pub/Sub stand-in and "
        "the functions..."
    )
    with stack.running(
        chat=True,
        STARTUP_CHECK="true",
        GEOTIFF_PREVIEW=json.dumps(ELEVATION_PREVIEW),
    ) as running:
        print(
            f"  function {running.function_url}\n"
            f"  earth engine {running.ee_url}\n"
            f"  storage {running.gcs_url}\n"
            f"  pub/sub {running.pubsub_url}"
        )
        redirect_demo(running.function_url)
        query_demo(running.function_url)
        recipe_demo(running.function_url)
        store_demo(running)
        pubsub_demo(running)
        geotiff_demo(running)
        slack_demo(running)
        chat_demo(running)
    print("Done; servers stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
