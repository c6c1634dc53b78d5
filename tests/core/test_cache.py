"""Thumbnail id cache: expiry, bounds and the off switch."""

from __future__ import annotations

from eerender.cache import ThumbnailCache


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_entry_expires_after_ttl() -> None:
    clock = Clock()
    cache = ThumbnailCache(ttl=60, clock=clock)
    cache.put("a", "projects/p/thumbnails/1")

    clock.now += 59
    assert cache.get("a") == ("projects/p/thumbnails/1", 1)
    clock.now += 1
    assert cache.get("a") is None


def test_oldest_entries_dropped_beyond_bound() -> None:
    cache = ThumbnailCache(ttl=60, max_entries=2, clock=Clock())
    for key in ("a", "b", "c"):
        cache.put(key, key)

    assert cache.get("a") is None
    assert cache.get("c") == ("c", 60)


def test_zero_ttl_disables_cache() -> None:
    cache = ThumbnailCache(ttl=0)
    cache.put("a", "x")

    assert cache.get("a") is None
