"""Destination buckets and object names of stored renders."""

from __future__ import annotations

import pytest

from eerender.config import Settings
from eerender.destination import check_object_name, parse_destination
from eerender.errors import Forbidden, InvalidRequest

SETTINGS = Settings(
    ee_project="p", render_bucket="renders", allowed_buckets=frozenset({"renders"})
)


@pytest.mark.parametrize(
    "name",
    [
        "renders/a.png",
        "a",
        "deep/er/name with spaces.tif",
        "ünïcødé/名前.png",
        "x" * 1024,
    ],
)
def test_object_name_accepted(name: str) -> None:
    assert check_object_name(name, "/destination/object") == name


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "non-empty"),
        (5, "non-empty"),
        ("renders/../secret.png", "'..'"),
        ("./a.png", "'.'"),
        ("..", "'..'"),
        ("/absolute.png", "starts with '/'"),
        ("renders/", "ends with '/'"),
        ("bad\nname.png", "control characters"),
        ("bad\x7fname.png", "control characters"),
        ("x" * 1025, "1025 bytes"),
        ("é" * 513, "1026 bytes"),
        ("\ud800.png", "not valid UTF-8"),
        (".well-known/acme-challenge/token", "reserved prefix"),
        ("site/.well-known/acme-challenge/token", "reserved prefix"),
    ],
)
def test_object_name_rejected(name: object, reason: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        check_object_name(name, "/destination/object")

    assert caught.value.code == "INVALID_DESTINATION"
    assert caught.value.field == "/destination/object"
    assert reason in caught.value.message


@pytest.mark.parametrize("bucket", ["Renders", "a", "-renders", "re..nders", 5])
def test_malformed_bucket_rejected(bucket: object) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_destination({"bucket": bucket}, "/destination", SETTINGS)

    assert caught.value.code == "INVALID_DESTINATION"
    assert caught.value.field == "/destination/bucket"
    assert str(bucket) in caught.value.message


def test_unlisted_bucket_names_allowed_ones() -> None:
    with pytest.raises(Forbidden) as caught:
        parse_destination({"bucket": "elsewhere"}, "/destination", SETTINGS)

    assert caught.value.code == "BUCKET_NOT_ALLOWED"
    assert "Allowed buckets: renders" in caught.value.message


def test_destination_members_checked() -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_destination({"bucket": "renders", "path": "x"}, "/destination", SETTINGS)

    assert caught.value.field == "/destination/path"


def test_destination_parts_optional() -> None:
    destination = parse_destination({"object": "a.png"}, "/destination", SETTINGS)

    assert destination.bucket is None
    assert destination.object_name == "a.png"
