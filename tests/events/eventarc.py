"""CloudEvents shaped as Eventarc sends them, and reads of what the functions wrote."""

from __future__ import annotations

import base64
import datetime
import json
import uuid
from typing import Any
from urllib.parse import quote

import requests
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

PUBSUB_TYPE = "google.cloud.pubsub.topic.v1.messagePublished"
STORAGE_TYPE = "google.cloud.storage.object.v1.finalized"
TOPIC_SOURCE = "//pubsub.googleapis.com/projects/local-project/topics/render-requests"
SUBSCRIPTION = "projects/local-project/subscriptions/eventarc-render-requests"
TIMEOUT = 30

SRTM = {
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


def elevation_request(**changes: Any) -> dict[str, Any]:
    """A small paletted SRTM render request."""
    return {
        "expression": SRTM,
        "region": [70, 20, 100, 40],
        "dimensions": 96,
        "min": 0,
        "max": 6000,
        "palette": ["006633", "E5FFCC", "662A00", "D8D8D8", "F5F5F5"],
        "format": "png",
        **changes,
    }


def encode(value: Any) -> str:
    """Base64 of a JSON value, as Pub/Sub carries message data."""
    return base64.b64encode(json.dumps(value).encode()).decode()


def now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat().replace("+00:00", "Z")


def message_data(
    data: Any,
    message_id: str | None = None,
    attributes: dict[str, str] | None = None,
    publish_time: str | None = None,
) -> dict[str, Any]:
    """The event data of a messagePublished event; no attributes key when None."""
    message: dict[str, Any] = {
        "data": data,
        "messageId": message_id or uuid.uuid4().hex,
        "publishTime": publish_time or now(),
    }
    if attributes is not None:
        message["attributes"] = attributes
    return {"message": message, "subscription": SUBSCRIPTION}


def post_binary(
    client: FlaskClient,
    data: dict[str, Any],
    event_type: str = PUBSUB_TYPE,
    source: str = TOPIC_SOURCE,
    event_id: str | None = None,
    subject: str | None = None,
) -> TestResponse:
    """POST an event in binary content mode: ce-* headers and the data as the body."""
    headers = {
        "ce-id": event_id or _event_id(data),
        "ce-specversion": "1.0",
        "ce-type": event_type,
        "ce-source": source,
        "ce-time": now(),
    }
    if subject:
        headers["ce-subject"] = subject
    return client.post(
        "/", headers=headers, data=json.dumps(data), content_type="application/json"
    )


def post_structured(
    client: FlaskClient,
    data: dict[str, Any],
    event_type: str = PUBSUB_TYPE,
    source: str = TOPIC_SOURCE,
    event_id: str | None = None,
) -> TestResponse:
    """POST an event in structured content mode: the whole event as one JSON body."""
    event = {
        "specversion": "1.0",
        "id": event_id or _event_id(data),
        "type": event_type,
        "source": source,
        "time": now(),
        "datacontenttype": "application/json",
        "data": data,
    }
    return client.post(
        "/", data=json.dumps(event), content_type="application/cloudevents+json"
    )


def _event_id(data: dict[str, Any]) -> str:
    message = data.get("message")
    if isinstance(message, dict) and message.get("messageId"):
        return str(message["messageId"])
    return uuid.uuid4().hex


def upload(
    gcs_url: str,
    bucket: str,
    name: str,
    content: bytes,
    content_type: str,
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Upload an object through the JSON API and return its resource."""
    meta = json.dumps({"name": name, "metadata": metadata or {}})
    boundary = uuid.uuid4().hex
    body = (
        (
            f"--{boundary}\r\nContent-Type: application/json\r\n\r\n{meta}\r\n"
            f"--{boundary}\r\nContent-Type: {content_type}\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    answer = requests.post(
        f"{gcs_url}/upload/storage/v1/b/{bucket}/o?uploadType=multipart",
        data=body,
        headers={"Content-Type": f"multipart/related; boundary={boundary}"},
        timeout=TIMEOUT,
    )
    answer.raise_for_status()
    resource: dict[str, Any] = answer.json()
    return resource


def object_resource(gcs_url: str, bucket: str, name: str) -> dict[str, Any]:
    answer = requests.get(_object_url(gcs_url, bucket, name), timeout=TIMEOUT)
    answer.raise_for_status()
    resource: dict[str, Any] = answer.json()
    return resource


def post_storage_event(client: FlaskClient, resource: dict[str, Any]) -> TestResponse:
    """POST the finalized event Eventarc sends for an object resource."""
    return post_binary(
        client,
        resource,
        event_type=STORAGE_TYPE,
        source=f"//storage.googleapis.com/projects/_/buckets/{resource['bucket']}",
        subject=f"objects/{resource['name']}",
    )


def names(gcs_url: str, bucket: str, prefix: str) -> list[str]:
    answer = requests.get(
        f"{gcs_url}/storage/v1/b/{bucket}/o", params={"prefix": prefix}, timeout=TIMEOUT
    )
    answer.raise_for_status()
    return sorted(item["name"] for item in answer.json().get("items", []))


def read(gcs_url: str, bucket: str, name: str) -> bytes:
    answer = requests.get(
        _object_url(gcs_url, bucket, name), params={"alt": "media"}, timeout=TIMEOUT
    )
    answer.raise_for_status()
    return answer.content


def read_json(gcs_url: str, bucket: str, name: str) -> Any:
    return json.loads(read(gcs_url, bucket, name))


def _object_url(gcs_url: str, bucket: str, name: str) -> str:
    return f"{gcs_url}/storage/v1/b/{bucket}/o/{quote(name, safe='')}"
