"""Thumbnail ids: the short-lived names that `thumbnails.create` returns."""

from __future__ import annotations

import collections
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# Earth Engine documents ids as valid for "a few hours". NOTE: four hours is an
# estimate from third-party reports on map ids; thumbnail expiry is not published.
DEFAULT_TTL_SECONDS = 4 * 60 * 60


@dataclass(frozen=True)
class Thumbnail:
    """A stored Thumbnail resource and the moment it was created."""

    project: str
    thumbnail_id: str
    body: dict[str, Any]
    created: float

    @property
    def name(self) -> str:
        return f"projects/{self.project}/thumbnails/{self.thumbnail_id}"


class ThumbnailStore:
    """Thread-safe map from thumbnail id to resource, with expiry.

    Ids look like the real ones, two 32-digit hex halves joined by `-`, and are
    random so that a URL works as a short-lived capability. Expired entries are
    dropped when they are read and whenever a new id is created.
    """

    def __init__(
        self,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl_seconds = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()
        # Insertion order is creation order, so the oldest ids come first.
        self._entries: collections.OrderedDict[str, Thumbnail] = (
            collections.OrderedDict()
        )

    def create(self, project: str, body: dict[str, Any]) -> Thumbnail:
        thumbnail_id = f"{secrets.token_hex(16)}-{secrets.token_hex(16)}"
        with self._lock:
            now = self._clock()
            self._drop_expired(now)
            thumbnail = Thumbnail(project, thumbnail_id, body, now)
            self._entries[thumbnail_id] = thumbnail
        return thumbnail

    def get(self, project: str, thumbnail_id: str) -> Thumbnail | None:
        """Return the live thumbnail, or None when it is unknown, expired or
        belongs to another project."""
        with self._lock:
            self._drop_expired(self._clock())
            thumbnail = self._entries.get(thumbnail_id)
        if thumbnail is None or thumbnail.project != project:
            return None
        return thumbnail

    def expire(self, thumbnail_id: str) -> None:
        with self._lock:
            self._entries.pop(thumbnail_id, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            self._drop_expired(self._clock())
            return len(self._entries)

    def _drop_expired(self, now: float) -> None:
        while self._entries:
            oldest = next(iter(self._entries.values()))
            if now - oldest.created < self._ttl_seconds:
                return
            self._entries.popitem(last=False)
