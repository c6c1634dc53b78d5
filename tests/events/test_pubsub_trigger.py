"""The Pub/Sub function, fed CloudEvents as Eventarc sends them."""

from __future__ import annotations

import base64
import datetime
import json
import logging
from typing import Any

import pytest
from flask.testing import FlaskClient

from local import stack
from tests.events.conftest import EventStack, MakeEventClient
from tests.events.eventarc import (
    elevation_request,
    encode,
    message_data,
    names,
    post_binary,
    post_structured,
    read,
    read_json,
)

BUCKET = stack.RENDER_BUCKET


def renders(event_stack: EventStack) -> list[str]:
    return [
        name
        for name in names(event_stack.gcs_url, BUCKET, event_stack.prefix)
        if not name.endswith(".json")
    ]


def failure_records(event_stack: EventStack) -> list[dict[str, Any]]:
    return [
        read_json(event_stack.gcs_url, BUCKET, name)
        for name in names(event_stack.gcs_url, BUCKET, event_stack.prefix)
        if name.endswith(".json")
    ]


def test_message_renders_into_bucket(
    pubsub_client: FlaskClient, event_stack: EventStack
) -> None:
    attributes = {"request_id": "req-1", "response_url": "https://chat.example/r/1"}
    data = message_data(encode(elevation_request()), attributes=attributes)

    answer = post_binary(pubsub_client, data)

    assert answer.status_code == 200
    [name] = renders(event_stack)
    assert read(event_stack.gcs_url, BUCKET, name).startswith(b"\x89PNG")
    [announcement] = event_stack.results()
    assert announcement["attributes"]["status"] == "rendered"
    assert announcement["attributes"]["request_id"] == "req-1"
    assert announcement["attributes"]["response_url"] == "https://chat.example/r/1"
    assert announcement["attributes"]["uri"] == f"gs://{BUCKET}/{name}"
    assert announcement["json"]["metadata"]["rendered-by"] == "eerender"


def test_duplicate_delivery_renders_once(
    pubsub_client: FlaskClient, event_stack: EventStack
) -> None:
    data = message_data(encode(elevation_request()), attributes={"request_id": "dup"})

    first = post_binary(pubsub_client, data)
    second = post_binary(pubsub_client, data)

    assert first.status_code == 200
    assert second.status_code == 200
    assert len(renders(event_stack)) == 1
    assert event_stack.pixel_downloads() == 1
    newly = [m["json"]["newly_rendered"] for m in event_stack.results()]
    assert newly == [True, False]


def test_both_content_modes_process_alike(
    pubsub_client: FlaskClient, event_stack: EventStack
) -> None:
    request = encode(elevation_request(dimensions=80))

    binary = post_binary(pubsub_client, message_data(request, attributes={}))
    structured = post_structured(pubsub_client, message_data(request, attributes={}))

    assert binary.status_code == 200
    assert structured.status_code == 200
    assert len(renders(event_stack)) == 1
    assert event_stack.pixel_downloads() == 1
    uris = {m["attributes"]["uri"] for m in event_stack.results()}
    assert len(uris) == 1


def test_message_without_attributes_renders(
    pubsub_client: FlaskClient, event_stack: EventStack
) -> None:
    data = message_data(encode(elevation_request(dimensions=72)), message_id="1001")
    assert "attributes" not in data["message"]

    answer = post_binary(pubsub_client, data)

    assert answer.status_code == 200
    assert len(renders(event_stack)) == 1
    [announcement] = event_stack.results()
    assert announcement["attributes"]["request_id"] == "1001"


def test_raw_push_without_attributes_is_recorded(
    pubsub_client: FlaskClient, event_stack: EventStack
) -> None:
    # A push subscription posting straight to the function, with no CloudEvent
    # headers; functions-framework converts the body into a CloudEvent.
    push = {
        "message": {
            "data": "eyJleHByZXNzaW9uIjp7fX0=",
            "messageId": "1002",
            "publishTime": "2099-01-01T00:00:00Z",
        },
        "subscription": "projects/local-project/subscriptions/render-requests",
    }

    answer = pubsub_client.post("/", json=push)

    assert answer.status_code == 200
    [record] = failure_records(event_stack)
    assert record["request_id"] == "1002"
    assert record["error"]["code"] == "INVALID_EXPRESSION"
    assert record["request"] == {"expression": {}}


BAD_PAYLOADS = [
    ("raw-json", '{"expression":{}}', "INVALID_BASE64"),
    ("not-utf8", base64.b64encode(b"\xff\xfe").decode(), "INVALID_UTF8"),
    ("not-json", base64.b64encode(b"hello").decode(), "INVALID_JSON"),
    (
        "double-base64",
        base64.b64encode(encode(elevation_request()).encode()).decode(),
        "INVALID_REQUEST",
    ),
]


@pytest.mark.parametrize(
    ("case", "payload", "code"), BAD_PAYLOADS, ids=[c[0] for c in BAD_PAYLOADS]
)
def test_bad_payload_is_recorded_once(
    pubsub_client: FlaskClient,
    event_stack: EventStack,
    case: str,
    payload: str,
    code: str,
) -> None:
    data = message_data(payload, message_id=f"bad-{case}")

    first = post_binary(pubsub_client, data)
    again = post_structured(pubsub_client, data)

    assert first.status_code == 200
    assert again.status_code == 200
    [record] = failure_records(event_stack)
    assert record["error"]["code"] == code
    assert record["error"]["retryable"] is False
    assert record["request_id"] == f"bad-{case}"
    assert renders(event_stack) == []
    assert event_stack.ee_stats()["requests"].get("thumbnails.create", 0) == 0


def test_oversized_message_is_recorded(
    make_event_client: MakeEventClient, event_stack: EventStack
) -> None:
    client = make_event_client("render_pubsub", RENDER_MAX_BODY_BYTES="2048")
    padded = elevation_request(filenamePrefix="x" * 3000)

    answer = post_binary(client, message_data(encode(padded), message_id="big"))

    assert answer.status_code == 200
    [record] = failure_records(event_stack)
    assert record["error"]["code"] == "REQUEST_TOO_LARGE"
    assert record["error"]["limit"] == 2048


def test_earth_engine_rejection_is_recorded(
    pubsub_client: FlaskClient, event_stack: EventStack
) -> None:
    missing = json.loads(json.dumps(elevation_request()))
    arguments = missing["expression"]["values"]["0"]["functionInvocationValue"]
    arguments["arguments"]["id"]["constantValue"] = "USGS/NO_SUCH_ASSET"

    answer = post_binary(pubsub_client, message_data(encode(missing), attributes={}))

    assert answer.status_code == 200
    assert renders(event_stack) == []
    [name] = names(event_stack.gcs_url, BUCKET, event_stack.prefix)
    assert name.endswith(".failure.json")
    record = read_json(event_stack.gcs_url, BUCKET, name)
    assert record["error"]["upstream"]["status"] == 400
    assert record["result_uri"] == f"gs://{BUCKET}/{name.removesuffix('.failure.json')}"
    [announcement] = event_stack.results()
    assert announcement["attributes"]["status"] == "failed"


def test_transient_failure_raises_then_renders(
    make_event_client: MakeEventClient, event_stack: EventStack
) -> None:
    client = make_event_client("render_pubsub", EE_MAX_ATTEMPTS="1")
    # Three 429s outlast the three whole-render attempts of one delivery.
    event_stack.add_fault(
        fault="429", method="thumbnails.create", count=3, retry_after=0
    )
    data = message_data(encode(elevation_request(dimensions=88)), attributes={})

    failed = post_binary(client, data)
    redelivered = post_binary(client, data)

    assert failed.status_code == 500
    assert redelivered.status_code == 200
    assert len(renders(event_stack)) == 1
    assert failure_records(event_stack) == []


def test_configuration_failure_raises_and_logs(
    make_event_client: MakeEventClient,
    event_stack: EventStack,
    caplog: pytest.LogCaptureFixture,
) -> None:
    unregistered = stack.standin(stack.free_port(), "--project-state", "not-registered")
    unregistered.start()
    try:
        client = make_event_client("render_pubsub", EE_API_URL=unregistered.url)
        data = message_data(encode(elevation_request()), attributes={})
        with caplog.at_level(logging.ERROR):
            answer = post_binary(client, data)
    finally:
        unregistered.stop()

    assert answer.status_code == 500
    assert failure_records(event_stack) == []
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert any("register" in r.getMessage() for r in errors)


def test_expired_event_is_recorded_unrendered(
    pubsub_client: FlaskClient, event_stack: EventStack
) -> None:
    old = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=2)
    data = message_data(
        encode(elevation_request(dimensions=66)),
        attributes={},
        publish_time=old.isoformat(),
    )

    answer = post_binary(pubsub_client, data)

    assert answer.status_code == 200
    assert renders(event_stack) == []
    [record] = failure_records(event_stack)
    assert record["error"]["code"] == "EVENT_EXPIRED"
    assert event_stack.ee_stats()["requests"].get("thumbnails.create", 0) == 0


def test_redirect_delivery_is_rejected(
    pubsub_client: FlaskClient, event_stack: EventStack
) -> None:
    request = elevation_request(delivery="redirect")

    answer = post_binary(pubsub_client, message_data(encode(request), attributes={}))

    assert answer.status_code == 200
    [record] = failure_records(event_stack)
    assert record["error"]["field"] == "/delivery"


def test_event_without_message_is_recorded(
    pubsub_client: FlaskClient, event_stack: EventStack
) -> None:
    answer = post_binary(pubsub_client, {"subscription": "s"}, event_id="no-message")

    assert answer.status_code == 200
    [record] = failure_records(event_stack)
    assert record["error"]["code"] == "INVALID_EVENT"
    assert record["request_id"] == "no-message"


def test_reused_request_id_keeps_both_records(
    pubsub_client: FlaskClient, event_stack: EventStack
) -> None:
    # Publishers may reuse a request id; each message still settles with a record.
    attributes = {"request_id": "dup-1"}
    first = message_data("not base64!", message_id="m-1", attributes=attributes)
    second = message_data(encode("hello"), message_id="m-2", attributes=attributes)

    assert post_binary(pubsub_client, first).status_code == 200
    assert post_binary(pubsub_client, second).status_code == 200
    codes = sorted(record["error"]["code"] for record in failure_records(event_stack))
    assert codes == ["INVALID_BASE64", "INVALID_REQUEST"]
