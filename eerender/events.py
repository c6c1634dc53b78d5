"""CloudEvents of the two event triggers, decoded into typed values.

Eventarc delivers a Pub/Sub message as ``google.cloud.pubsub.topic.v1.messagePublished``
whose data is ``{"message": {"data", "attributes", "messageId", "publishTime"},
"subscription"}``, and a finished upload as ``google.cloud.storage.object.v1.finalized``
whose data is the object resource of the Cloud Storage JSON API. Both content modes
(binary, with ``ce-*`` headers, and structured, with the whole event as JSON) reach the
handlers as the same ``CloudEvent``, so everything here works on that object only.

Every decoding failure is an ``InvalidRequest`` with its own code, which makes it a
permanent outcome: the event is acknowledged and recorded, never retried.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import re
from dataclasses import dataclass
from typing import Any

from cloudevents.http import CloudEvent

from eerender.errors import InvalidRequest, PayloadTooLarge

PUBSUB_PUBLISHED = "google.cloud.pubsub.topic.v1.messagePublished"
STORAGE_FINALIZED = "google.cloud.storage.object.v1.finalized"

# Message attributes the product reads. Attributes are optional: Pub/Sub leaves the
# whole map out when a publisher sets none.
REQUEST_ID_ATTRIBUTE = "request_id"
DESTINATION_ATTRIBUTE = "destination"
# Attributes copied from a request onto its result announcement, so a chat integration
# can reply where the request came from.
REPLY_ATTRIBUTE = "response_url"
REPLY_ATTRIBUTE_PREFIX = "reply_"

# Pub/Sub and Eventarc write up to nanoseconds; Python's datetime keeps microseconds.
_FRACTION = re.compile(r"(\.\d{6})\d+")


@dataclass(frozen=True)
class PubSubMessage:
    """One Pub/Sub message taken from a messagePublished event."""

    message_id: str
    data: Any
    attributes: dict[str, str]
    publish_time: datetime.datetime | None
    subscription: str
    delivery_attempt: int | None

    @property
    def request_id(self) -> str:
        return self.attributes.get(REQUEST_ID_ATTRIBUTE) or self.message_id

    @property
    def reply_attributes(self) -> dict[str, str]:
        return reply_attributes(self.attributes)


@dataclass(frozen=True)
class StorageObject:
    """The object named by a finalized event."""

    bucket: str
    name: str
    generation: int
    content_type: str
    size: int
    metadata: dict[str, str]
    time_created: datetime.datetime | None

    @property
    def uri(self) -> str:
        return f"gs://{self.bucket}/{self.name}"


def reply_attributes(attributes: dict[str, str]) -> dict[str, str]:
    """Return the attributes that a result announcement carries back to the caller."""
    return {
        key: value
        for key, value in attributes.items()
        if key == REPLY_ATTRIBUTE or key.startswith(REPLY_ATTRIBUTE_PREFIX)
    }


def event_time(event: CloudEvent) -> datetime.datetime | None:
    return parse_time(event.get("time"))


def parse_time(value: object) -> datetime.datetime | None:
    """Parse an RFC 3339 timestamp; return None for a missing or malformed one."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(_FRACTION.sub(r"\1", value))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.UTC)
    return parsed


def check_type(event: CloudEvent, expected: str) -> None:
    """Raise InvalidRequest when the trigger was wired to the wrong event type."""
    if event["type"] != expected:
        raise InvalidRequest(
            f"Event type {event['type']!r} is not supported here; this function takes "
            f"{expected} events. Check the trigger's event type.",
            code="UNSUPPORTED_EVENT_TYPE",
            value=event["type"],
        )


def pubsub_message(event: CloudEvent) -> PubSubMessage:
    """Take the Pub/Sub message out of a messagePublished event.

    Raises:
        InvalidRequest: INVALID_EVENT when the event data has no message object.
    """
    data = _event_data(event)
    message = data.get("message")
    if not isinstance(message, dict):
        raise InvalidRequest(
            "The event data has no Pub/Sub message object; expected "
            '{"message": {"data": ..., "messageId": ...}, "subscription": ...}.',
            code="INVALID_EVENT",
        )
    attributes = message.get("attributes") or {}
    if not isinstance(attributes, dict):
        attributes = {}
    message_id = message.get("messageId") or message.get("message_id") or event["id"]
    publish_time = message.get("publishTime") or message.get("publish_time")
    attempt = data.get("deliveryAttempt")
    return PubSubMessage(
        message_id=str(message_id),
        data=message.get("data"),
        attributes={str(key): str(value) for key, value in attributes.items()},
        publish_time=parse_time(publish_time) or event_time(event),
        subscription=str(data.get("subscription") or ""),
        delivery_attempt=attempt if isinstance(attempt, int) else None,
    )


def storage_object(event: CloudEvent) -> StorageObject:
    """Take the object resource out of a finalized event.

    Raises:
        InvalidRequest: INVALID_EVENT when the bucket or object name is missing.
    """
    data = _event_data(event)
    bucket, name = data.get("bucket"), data.get("name")
    if not isinstance(bucket, str) or not isinstance(name, str) or not name:
        raise InvalidRequest(
            "The event data names no bucket and object; expected the Cloud Storage "
            "object resource with 'bucket' and 'name'.",
            code="INVALID_EVENT",
        )
    metadata = data.get("metadata") or {}
    return StorageObject(
        bucket=bucket,
        name=name,
        generation=_whole_number(data.get("generation")),
        content_type=str(data.get("contentType") or ""),
        size=_whole_number(data.get("size")),
        metadata=dict(metadata) if isinstance(metadata, dict) else {},
        time_created=parse_time(data.get("timeCreated")),
    )


def decode_message_data(data: Any, max_bytes: int) -> Any:
    """Decode a message's base64 data into the render request JSON value.

    Raises:
        InvalidRequest: INVALID_BASE64, INVALID_UTF8 or INVALID_JSON for each layer
            that fails, and INVALID_REQUEST for empty data or data that was
            base64-encoded twice.
        PayloadTooLarge: when the decoded data is over ``max_bytes``.
    """
    if data is None or data == "":
        raise InvalidRequest(
            "The message has no data; publish the render request JSON as the message "
            "data.",
            code="INVALID_REQUEST",
        )
    if not isinstance(data, str):
        raise InvalidRequest(
            f"The message data is a JSON {type(data).__name__}, not a base64 string; "
            "Pub/Sub carries data base64-encoded.",
            code="INVALID_BASE64",
            value=data,
        )
    # Base64 is 4 characters for 3 bytes; checking first keeps a huge message from
    # being decoded just to be rejected.
    if len(data) > (max_bytes + 2) // 3 * 4:
        raise PayloadTooLarge(
            f"The message data is over the {max_bytes}-byte limit; refer to an asset "
            "or publish a smaller expression.",
            limit=max_bytes,
        )
    raw = _base64(data)
    try:
        return decode_json(raw, "message data")
    except InvalidRequest as error:
        if error.code == "INVALID_JSON" and _is_base64_of_json(raw):
            raise InvalidRequest(
                "The message data was base64-encoded twice; encode the request JSON "
                "once, since Pub/Sub's own encoding is the only one expected.",
                code="INVALID_REQUEST",
            ) from error
        raise


def decode_json(raw: bytes, what: str) -> Any:
    """Decode UTF-8 JSON bytes, rejecting NaN and Infinity as JSON does.

    Raises:
        InvalidRequest: INVALID_UTF8 or INVALID_JSON naming ``what`` and the position.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidRequest(
            f"The {what} is not valid UTF-8 (byte {error.start}); encode it as UTF-8.",
            code="INVALID_UTF8",
        ) from error
    try:
        decoded = json.loads(text, parse_constant=_reject_constant)
        # JSON's \ud800-style escapes can name half a surrogate pair, which is no
        # character: such strings could not be hashed, logged or sent on as UTF-8.
        json.dumps(decoded, ensure_ascii=False).encode("utf-8")
        return decoded
    except UnicodeEncodeError as error:
        raise InvalidRequest(
            f"The {what} contains a \\u escape of a lone surrogate "
            f"({error.object[error.start : error.end]!a}), which is not a character; "
            "send text as UTF-8 or escape whole surrogate pairs.",
            code="INVALID_UTF8",
        ) from error
    except RecursionError as error:
        raise InvalidRequest(
            f"The {what} nests JSON too deeply to read; flatten the expression with "
            "valueReference nodes.",
            code="INVALID_JSON",
        ) from error
    except json.JSONDecodeError as error:
        raise InvalidRequest(
            f"The {what} is not valid JSON: {error.msg} at line {error.lineno} column "
            f"{error.colno}.",
            code="INVALID_JSON",
            value=text,
        ) from error
    except ValueError as error:  # an integer of more than 4300 digits
        raise InvalidRequest(
            f"The {what} contains a number with too many digits to read; send numbers "
            "of ordinary size.",
            code="INVALID_JSON",
        ) from error


def _reject_constant(name: str) -> None:
    raise InvalidRequest(
        f"The JSON contains {name}, which JSON does not allow; send finite numbers.",
        code="INVALID_JSON",
        value=name,
    )


def _base64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as error:
        raise InvalidRequest(
            f"The message data is not valid base64 ({error}); Pub/Sub delivers the "
            "published bytes base64-encoded, so publish the request JSON as bytes.",
            code="INVALID_BASE64",
            value=text,
        ) from error


def _is_base64_of_json(raw: bytes) -> bool:
    try:
        json.loads(base64.b64decode(raw, validate=True))
    except (binascii.Error, ValueError):
        return False
    return True


def _event_data(event: CloudEvent) -> dict[str, Any]:
    data = event.data
    if isinstance(data, (bytes, str)):
        raw = data.encode() if isinstance(data, str) else data
        data = decode_json(raw, "event data")
    if not isinstance(data, dict):
        raise InvalidRequest(
            "The event data is not a JSON object; check the trigger's event type.",
            code="INVALID_EVENT",
            value=data,
        )
    return data


def _whole_number(value: object) -> int:
    # The JSON API writes int64 fields such as generation and size as strings.
    try:
        return int(str(value))
    except ValueError:
        return 0
