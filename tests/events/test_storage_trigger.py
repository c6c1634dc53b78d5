"""The Cloud Storage function, fed finalized events for real fake-gcs-server objects."""

from __future__ import annotations

import io
import json

import requests
from flask.testing import FlaskClient
from PIL import Image

from local import stack
from tests.events.conftest import EventStack, MakeEventClient
from tests.events.eventarc import (
    elevation_request,
    names,
    object_resource,
    post_storage_event,
    read,
    read_json,
    upload,
)

UPLOADS = stack.UPLOAD_BUCKET
RENDERS = stack.RENDER_BUCKET


def upload_request(event_stack: EventStack, name: str, request: dict) -> dict:
    body = json.dumps(request).encode()
    return upload(event_stack.gcs_url, UPLOADS, name, body, "application/json")


def test_request_file_renders_into_output_bucket(
    storage_client: FlaskClient, event_stack: EventStack
) -> None:
    resource = upload_request(event_stack, "requests/r-1.json", elevation_request())

    answer = post_storage_event(storage_client, resource)

    assert answer.status_code == 200
    [name] = names(event_stack.gcs_url, RENDERS, event_stack.prefix)
    assert name.endswith(".png")
    [announcement] = event_stack.results()
    assert (
        announcement["json"]["event"]["source"] == f"gs://{UPLOADS}/requests/r-1.json"
    )


def test_own_output_is_not_rendered_again(
    make_event_client: MakeEventClient, event_stack: EventStack
) -> None:
    # The trigger watches the bucket it writes to, the layout that loops when the
    # function ignores its own output.
    client = make_event_client("render_storage", RENDER_ALLOWED_BUCKETS=UPLOADS)
    output = f"{event_stack.prefix}r-26.png"
    request = elevation_request(
        delivery="store", destination={"bucket": UPLOADS, "object": output}
    )
    resource = upload_request(event_stack, "requests/r-26.json", request)

    first = post_storage_event(client, resource)
    output_event = post_storage_event(
        client, object_resource(event_stack.gcs_url, UPLOADS, output)
    )

    assert first.status_code == 200
    assert output_event.status_code == 200
    assert event_stack.pixel_downloads() == 1
    assert event_stack.ee_stats()["requests"]["thumbnails.create"] == 1
    rendered = object_resource(event_stack.gcs_url, UPLOADS, output)
    assert rendered["metadata"]["rendered-by"] == "eerender"


def test_output_under_prefix_is_skipped(
    storage_client: FlaskClient, event_stack: EventStack
) -> None:
    # A GeoTIFF in the output location without the marker, as another tool might copy.
    resource = upload(
        event_stack.gcs_url,
        RENDERS,
        f"{event_stack.prefix}copied.tif",
        b"II*\x00",
        "image/tiff",
    )

    answer = post_storage_event(storage_client, resource)

    assert answer.status_code == 200
    assert event_stack.ee_stats()["requests"] == {}


def test_unrelated_object_is_skipped(
    storage_client: FlaskClient, event_stack: EventStack
) -> None:
    resource = upload(
        event_stack.gcs_url, UPLOADS, "notes/readme.txt", b"hi", "text/plain"
    )

    answer = post_storage_event(storage_client, resource)

    assert answer.status_code == 200
    assert names(event_stack.gcs_url, RENDERS, event_stack.prefix) == []
    assert event_stack.results() == []


def test_invalid_request_file_is_recorded(
    storage_client: FlaskClient, event_stack: EventStack
) -> None:
    resource = upload(
        event_stack.gcs_url,
        UPLOADS,
        "requests/broken.json",
        b"{nope",
        "application/json",
    )

    answer = post_storage_event(storage_client, resource)

    assert answer.status_code == 200
    [name] = names(event_stack.gcs_url, RENDERS, event_stack.prefix + "failures/")
    record = read_json(event_stack.gcs_url, RENDERS, name)
    assert record["error"]["code"] == "INVALID_JSON"
    assert record["event"]["source"] == f"gs://{UPLOADS}/requests/broken.json"


def test_geotiff_upload_gets_preview(
    make_event_client: MakeEventClient, event_stack: EventStack, ee_server: str
) -> None:
    geotiff = render_geotiff(make_event_client)
    downloads_before = preview_downloads(ee_server)
    preview_parameters = {
        "dimensions": 128,
        "min": 0,
        "max": 5000,
        "palette": ["blue", "white"],
        "format": "png",
    }
    client = make_event_client(
        "render_storage",
        GEOTIFF_PREVIEW=json.dumps(preview_parameters),
    )
    resource = upload(event_stack.gcs_url, UPLOADS, "dem/everest.tif", geotiff, "")

    answer = post_storage_event(client, resource)
    again = post_storage_event(client, resource)

    assert answer.status_code == 200
    assert again.status_code == 200
    [name] = names(event_stack.gcs_url, RENDERS, event_stack.prefix + "previews/")
    assert name.endswith(f"dem/everest.tif.{resource['generation']}.png")
    preview = Image.open(io.BytesIO(read(event_stack.gcs_url, RENDERS, name)))
    assert max(preview.size) == 128
    assert preview_downloads(ee_server) == downloads_before + 1


def preview_downloads(ee_url: str) -> int:
    stats = requests.get(f"{ee_url}/_standin/stats", timeout=10).json()
    return int(stats["responses"].get("thumbnails.getPixels", {}).get("200", 0))


def render_geotiff(make_event_client: MakeEventClient) -> bytes:
    """Render SRTM elevation around Everest as a GeoTIFF with the HTTP function."""
    http = make_event_client("render_http")
    request = {
        **elevation_request(),
        "region": [86.5, 27.5, 87.5, 28.5],
        "format": "GEO_TIFF",
    }
    for key in ("min", "max", "palette"):
        request.pop(key)
    answer = http.post("/", json=request, headers={"Accept": "application/json"})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    pixels = requests.get(answer.get_json()["url"], timeout=30)
    pixels.raise_for_status()
    return pixels.content
