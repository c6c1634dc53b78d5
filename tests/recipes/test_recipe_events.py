"""Recipes in Pub/Sub messages and uploaded request files."""

from __future__ import annotations

import io
import json

from flask.testing import FlaskClient
from PIL import Image

from local import stack
from tests.events.conftest import EventStack
from tests.events.eventarc import (
    encode,
    message_data,
    names,
    post_binary,
    post_storage_event,
    read,
    upload,
)

RENDERS = stack.RENDER_BUCKET


def stored_images(event_stack: EventStack) -> list[Image.Image]:
    return [
        Image.open(io.BytesIO(read(event_stack.gcs_url, RENDERS, name)))
        for name in names(event_stack.gcs_url, RENDERS, event_stack.prefix)
        if name.endswith(".png")
    ]


def test_pubsub_message_names_recipe(
    pubsub_client: FlaskClient, event_stack: EventStack
) -> None:
    request = {"recipe": "hillshade", "params": {"azimuth": 90}, "dimensions": 80}

    answer = post_binary(pubsub_client, message_data(encode(request)))

    assert answer.status_code == 200
    [image] = stored_images(event_stack)
    assert max(image.size) == 80
    [announcement] = event_stack.results()
    assert announcement["attributes"]["status"] == "rendered"


def test_pubsub_bad_parameter_recorded(
    pubsub_client: FlaskClient, event_stack: EventStack
) -> None:
    request = {"recipe": "hillshade", "params": {"azimuth": 400}}

    answer = post_binary(pubsub_client, message_data(encode(request)))

    # A bad parameter is permanent: acknowledged and announced as a failure.
    assert answer.status_code == 200
    [announcement] = event_stack.results()
    assert announcement["attributes"]["status"] == "failed"
    assert announcement["attributes"]["code"] == "INVALID_PARAMETER"


def test_uploaded_request_names_recipe(
    storage_client: FlaskClient, event_stack: EventStack
) -> None:
    body = json.dumps({"recipe": "landcover", "params": {"bbox": "0,40,20,50"}})
    resource = upload(
        event_stack.gcs_url,
        stack.UPLOAD_BUCKET,
        "requests/landcover.json",
        body.encode(),
        "application/json",
    )

    answer = post_storage_event(storage_client, resource)

    assert answer.status_code == 200
    [image] = stored_images(event_stack)
    assert max(image.size) == 768
