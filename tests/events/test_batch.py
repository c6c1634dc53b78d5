"""POST /batch publishes one message per item; items fill the manifest as they end."""

from __future__ import annotations

import copy
from typing import Any

from flask.testing import FlaskClient

from local import stack
from tests.events.conftest import EventStack, MakeEventClient
from tests.events.eventarc import (
    SRTM,
    elevation_request,
    message_data,
    names,
    post_binary,
    read_json,
)

RENDERS = stack.RENDER_BUCKET


def published(event_stack: EventStack) -> list[dict[str, Any]]:
    return event_stack.pubsub.messages(stack.REQUEST_TOPIC)


def deliver_all(client: FlaskClient, messages: list[dict[str, Any]]) -> list[int]:
    """Push each published message to the function as Eventarc would."""
    return [
        post_binary(
            client,
            message_data(
                message["data"],
                message_id=message["messageId"],
                attributes=message["attributes"],
            ),
        ).status_code
        for message in messages
    ]


def manifest(event_stack: EventStack, receipt: dict[str, Any]) -> Any:
    name = receipt["manifest"].removeprefix(f"gs://{RENDERS}/")
    return read_json(event_stack.gcs_url, RENDERS, name)


def test_tiles_render_and_fill_manifest(
    make_event_client: MakeEventClient, event_stack: EventStack
) -> None:
    http = make_event_client("render_http")
    batch = {"base": elevation_request(), "tiles": {"columns": 2, "rows": 2}}

    answer = http.post("/batch", json=batch)

    assert answer.status_code == 202
    receipt = answer.get_json()
    assert receipt["size"] == 4
    assert receipt["items"][0]["uri"].endswith("/00000.png")
    messages = published(event_stack)
    assert len(messages) == 4
    assert messages[1]["json"]["region"] == [85.0, 30.0, 100.0, 40.0]
    assert messages[1]["attributes"]["batch_item"] == "1"

    statuses = deliver_all(make_event_client("render_pubsub"), messages)

    assert statuses == [200, 200, 200, 200]
    written = manifest(event_stack, receipt)
    assert written["size"] == 4
    assert written["rendered"] == 4
    assert [item["uri"] for item in written["items"]] == [
        item["uri"] for item in receipt["items"]
    ]


def test_failed_item_appears_in_manifest(
    make_event_client: MakeEventClient, event_stack: EventStack
) -> None:
    missing = copy.deepcopy(elevation_request())
    arguments = missing["expression"]["values"]["0"]["functionInvocationValue"]
    arguments["arguments"]["id"]["constantValue"] = "USGS/NO_SUCH_ASSET"
    batch = {"requests": [elevation_request(dimensions=70), missing]}
    receipt = make_event_client("render_http").post("/batch", json=batch).get_json()
    pubsub = make_event_client("render_pubsub")

    deliver_all(pubsub, published(event_stack))
    again = deliver_all(pubsub, published(event_stack))

    assert again == [200, 200]
    written = manifest(event_stack, receipt)
    assert written["rendered"] == 1
    assert written["failed"] == 1
    failed = written["items"][1]
    assert failed["error"]["upstream"]["status"] == 400
    assert failed["record_uri"].endswith("/00001.png.failure.json")
    items = names(
        event_stack.gcs_url, RENDERS, receipt["prefix"][len("gs://renders/") :]
    )
    assert sum(name.endswith("manifest.json") for name in items) == 1


def test_invalid_item_publishes_nothing(
    make_event_client: MakeEventClient, event_stack: EventStack
) -> None:
    batch = {"requests": [elevation_request(), elevation_request(palette={"a": 1})]}

    answer = make_event_client("render_http").post("/batch", json=batch)

    assert answer.status_code == 400
    error = answer.get_json()["error"]
    assert error["code"] == "INVALID_PALETTE"
    assert error["field"] == "/requests/1/palette"
    assert published(event_stack) == []


def test_frames_fill_placeholders(
    make_event_client: MakeEventClient, event_stack: EventStack
) -> None:
    base = elevation_request()
    base["expression"] = copy.deepcopy(SRTM)
    call = base["expression"]["values"]["0"]["functionInvocationValue"]
    call["arguments"]["id"]["constantValue"] = "{{asset}}"
    frames = [
        {"parameters": {"asset": "USGS/SRTMGL1_003"}, "dimensions": 64},
        {"parameters": {"asset": "USGS/SRTMGL1_003"}, "dimensions": 48},
    ]

    answer = make_event_client("render_http").post(
        "/batch", json={"base": base, "frames": frames}
    )

    assert answer.status_code == 202
    sent = [m["json"] for m in published(event_stack)]
    assert [request["dimensions"] for request in sent] == [64, 48]
    load = sent[0]["expression"]["values"]["0"]["functionInvocationValue"]
    assert load["arguments"]["id"]["constantValue"] == "USGS/SRTMGL1_003"


def test_unused_frame_parameter_is_rejected(
    make_event_client: MakeEventClient, event_stack: EventStack
) -> None:
    batch = {"base": elevation_request(), "frames": [{"parameters": {"date": "2020"}}]}

    answer = make_event_client("render_http").post("/batch", json=batch)

    assert answer.status_code == 400
    assert answer.get_json()["error"]["field"] == "/frames/0/parameters"
    assert published(event_stack) == []


def test_batch_without_topic_is_configuration_error(
    make_event_client: MakeEventClient, event_stack: EventStack
) -> None:
    http = make_event_client("render_http", REQUEST_TOPIC="")

    answer = http.post("/batch", json={"requests": [elevation_request()]})

    assert answer.status_code == 503
    assert answer.get_json()["error"]["code"] == "REQUEST_TOPIC_MISSING"
