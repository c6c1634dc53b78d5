"""A small, thread-safe, time-limited cache of thumbnail ids by request hash."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable


class ThumbnailCache:
    """Maps a request hash to the thumbnail name created for it, for ``ttl`` seconds.

    Identical requests within the window reuse one id and cost no Earth Engine call.
    The oldest entries are dropped beyond ``max_entries``, bounding memory.
    """

    def __init__(
        self,
        ttl: float,
        max_entries: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl
        self._max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[str, float] | None:
        """Return (thumbnail name, seconds left), or None when absent or expired."""
        if self._ttl <= 0:
            return None
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            name, created = entry
            left = self._ttl - (self._clock() - created)
            if left <= 0:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return name, left

    def put(self, key: str, name: str) -> None:
        if self._ttl <= 0:
            return
        with self._lock:
            self._entries[key] = (name, self._clock())
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
