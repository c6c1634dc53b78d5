"""Destinations of stored renders: the bucket and object name a request may name."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from eerender.config import Settings
from eerender.errors import Forbidden
from eerender.validation import child, excerpt, invalid, json_object, known_keys

# Cloud Storage bucket names: lower-case letters, digits, dashes, underscores and
# dots, starting and ending with a letter or digit, at most 222 characters with dots.
_BUCKET = re.compile(r"[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]")
MAX_OBJECT_NAME_BYTES = 1024
# Cloud Storage refuses names under this prefix, which ACME certificate checks use.
_ACME_PREFIX = ".well-known/acme-challenge/"
# Format characters (bidirectional overrides, zero-width spaces), line and paragraph
# separators, private-use and unassigned code points.
_HIDDEN_CATEGORIES = frozenset({"Cf", "Zl", "Zp", "Co", "Cn"})


@dataclass(frozen=True)
class Destination:
    """A checked destination; ``None`` parts are filled in by the render service."""

    bucket: str | None
    object_name: str | None


def parse_destination(value: object, field: str, settings: Settings) -> Destination:
    """Check ``{"bucket", "object"}`` of a stored render.

    Raises:
        InvalidRequest: ``INVALID_DESTINATION`` for malformed names.
        Forbidden: ``BUCKET_NOT_ALLOWED`` for a bucket this deployment may not write.
    """
    destination = json_object(value, field)
    known_keys(destination, ("bucket", "object"), field)
    bucket = destination.get("bucket")
    if bucket is not None:
        bucket = check_bucket(bucket, child(field, "bucket"), settings)
    object_name = destination.get("object")
    if object_name is not None:
        object_name = check_object_name(object_name, child(field, "object"))
    return Destination(bucket, object_name)


def check_bucket(value: object, field: str, settings: Settings) -> str:
    """Return a well-formed bucket name that the deployment allows."""
    if not isinstance(value, str) or not _BUCKET.fullmatch(value) or ".." in value:
        raise invalid(
            f"Bucket {excerpt(value)} at {field} is not a valid Cloud Storage bucket "
            "name (3 to 222 lower-case letters, digits, '-', '_' or '.').",
            field,
            value,
            code="INVALID_DESTINATION",
        )
    if not settings.bucket_allowed(value):
        allowed = ", ".join(sorted(settings.allowed_buckets)) or "none"
        raise Forbidden(
            f"Bucket {value!r} at {field} is not one this deployment writes to. "
            f"Allowed buckets: {allowed}; an operator adds buckets with "
            "RENDER_ALLOWED_BUCKETS.",
            code="BUCKET_NOT_ALLOWED",
            field=field,
            value=value,
        )
    return value


def check_object_name(value: object, field: str) -> str:
    """Return an object name that is safe to write and to serve back."""
    if not isinstance(value, str) or not value:
        raise _bad_object(value, field, "must be a non-empty string")
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise _bad_object(value, field, "is not valid UTF-8") from None
    if size > MAX_OBJECT_NAME_BYTES:
        raise _bad_object(
            value, field, f"is {size} bytes long in UTF-8; at most 1024 are allowed"
        )
    if any(unicodedata.category(character) == "Cc" for character in value):
        raise _bad_object(value, field, "contains control characters")
    hidden = [c for c in value if unicodedata.category(c) in _HIDDEN_CATEGORIES]
    if hidden:
        raise _bad_object(
            value,
            field,
            f"contains the invisible or unassigned character U+{ord(hidden[0]):04X}, "
            "which makes the name read differently from what it is",
        )
    if value.startswith("/"):
        raise _bad_object(value, field, "starts with '/'; names are relative")
    if value.endswith("/"):
        raise _bad_object(value, field, "ends with '/', which names a folder")
    if any(segment in (".", "..") for segment in value.split("/")):
        raise _bad_object(value, field, "contains a '.' or '..' path segment")
    # Tools that normalise names would turn full-width dots and slashes into a path
    # traversal, so the normalised name must pass the same check.
    normalised = unicodedata.normalize("NFKC", value)
    if any(segment in (".", "..") for segment in normalised.split("/")):
        raise _bad_object(
            value, field, "contains a segment that reads as '.' or '..' once normalised"
        )
    if value.startswith(_ACME_PREFIX) or "/" + _ACME_PREFIX in value:
        raise _bad_object(value, field, f"uses the reserved prefix {_ACME_PREFIX}")
    return value


def _bad_object(value: Any, field: str, reason: str) -> Exception:
    return invalid(
        f"Object name {excerpt(value)} at {field} {reason}. Use a relative name such "
        'as "renders/ndvi-2024.png".',
        field,
        value,
        code="INVALID_DESTINATION",
    )
