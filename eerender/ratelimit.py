"""Per-caller rate limits and the per-request pixel budget of the HTTP function.

Each caller key (``eerender.auth.Caller.key``) gets a token bucket of
``HTTP_RATE_BURST`` requests that refills at ``HTTP_RATE_LIMIT`` requests per minute.
An empty bucket gets a 429 response whose ``Retry-After`` is the time to the next token.

NOTE: buckets live in the memory of one instance, and instances do not share them.
With N instances a caller may make up to N times the limit, and a new instance starts
every caller with a full bucket. Cloud Run's maximum instance count bounds the total.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from eerender.config import Settings
from eerender.errors import InvalidRequest, RateLimited
from eerender.request import RenderRequest

logger = logging.getLogger(__name__)

# Callers remembered per instance; the least recently seen is forgotten first, which
# at worst gives it a full bucket again.
MAX_CALLERS = 10_000


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets per caller key. Safe to share between threads."""

    def __init__(
        self,
        per_minute: int,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        max_callers: int = MAX_CALLERS,
    ) -> None:
        self._rate = per_minute / 60.0
        self._burst = float(burst)
        self._clock = clock
        self._max_callers = max_callers
        self._buckets: collections.OrderedDict[str, _Bucket] = collections.OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Take one token for ``key``; return 0, or the seconds until one is free."""
        now = self._clock()
        with self._lock:
            bucket = self._buckets.pop(key, None) or _Bucket(self._burst, now)
            self._buckets[key] = bucket
            if len(self._buckets) > self._max_callers:
                self._buckets.popitem(last=False)
            bucket.tokens = min(
                self._burst, bucket.tokens + (now - bucket.updated) * self._rate
            )
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / self._rate


_lock = threading.Lock()
_current: tuple[Settings, RateLimiter] | None = None


def _limiter(settings: Settings) -> RateLimiter:
    """Return the limiter of this instance, made anew when the settings are rebuilt."""
    global _current
    with _lock:
        if _current is None or _current[0] is not settings:
            limiter = RateLimiter(settings.rate_limit_per_minute, settings.rate_burst)
            _current = (settings, limiter)
        return _current[1]


def check_rate(caller_key: str, settings: Settings) -> None:
    """Count one request of ``caller_key``.

    Raises:
        RateLimited: ``RATE_LIMITED`` with ``retry_after`` when the caller's bucket is
            empty.
    """
    if not settings.rate_limit_per_minute:
        return
    wait = _limiter(settings).take(caller_key)
    if wait:
        logger.warning(
            "Rate limit reached for %s",
            caller_key,
            extra={"json_fields": {"caller": caller_key}},
        )
        raise RateLimited(
            f"Too many requests from this caller: at most "
            f"{settings.rate_limit_per_minute} per minute after a burst of "
            f"{settings.rate_burst}. Retry after {wait:.1f} s.",
            retry_after=wait,
            limit=settings.rate_limit_per_minute,
        )


def check_pixels(request: RenderRequest, settings: Settings) -> None:
    """Reject a request whose output has more pixels than ``HTTP_MAX_PIXELS``.

    Raises:
        InvalidRequest: ``PIXEL_BUDGET_EXCEEDED``, with the budget as ``limit``.
    """
    budget = settings.max_pixels
    if not budget:
        return
    pixels = _pixels(request)
    if pixels is None:
        raise InvalidRequest(
            "The output size cannot be known before rendering (a scale without a "
            f"region), and this function renders at most {budget:,} pixels per "
            "request. Add a region or dimensions.",
            code="PIXEL_BUDGET_EXCEEDED",
            field="/scale",
            limit=budget,
        )
    if pixels <= budget:
        return
    raise InvalidRequest(
        f"The output would have {pixels:,} pixels; this function renders at most "
        f"{budget:,} per request. Ask for smaller dimensions or a coarser scale.",
        code="PIXEL_BUDGET_EXCEEDED",
        field="/dimensions",
        value=pixels,
        limit=budget,
    )


def _pixels(request: RenderRequest) -> int | None:
    estimate = request.output_estimate()
    if estimate is not None:
        return estimate.width * estimate.height
    # Without a region the shape is unknown, but a longest side bounds it.
    if isinstance(request.dimensions, int):
        return request.dimensions * request.dimensions
    if isinstance(request.dimensions, tuple):
        return request.dimensions[0] * request.dimensions[1]
    return None
