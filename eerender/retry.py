"""Retry with exponential backoff, jitter, Retry-After and an overall deadline.

Callers decide what is safe to repeat: only failures whose outcome is TRANSIENT are
retried, and only for operations that are idempotent or guarded by a precondition.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import TypeVar

from eerender.errors import Outcome, RenderError, ThumbnailExpired

logger = logging.getLogger(__name__)

T = TypeVar("T")

RETRYABLE_STATUS_CODES = frozenset(
    {
        HTTPStatus.TOO_MANY_REQUESTS,
        HTTPStatus.INTERNAL_SERVER_ERROR,
        HTTPStatus.BAD_GATEWAY,
        HTTPStatus.SERVICE_UNAVAILABLE,
        HTTPStatus.GATEWAY_TIMEOUT,
    }
)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry one outbound call.

    The n-th wait is a random time up to ``initial_delay * multiplier**n`` ("full
    jitter"), capped at ``max_delay``, and never shorter than an upstream Retry-After.
    No wait may run past ``deadline`` seconds from the first attempt: then the last
    error is raised.
    """

    max_attempts: int = 5
    initial_delay: float = 0.5
    max_delay: float = 16.0
    multiplier: float = 2.0
    deadline: float = 50.0

    def backoff(self, retry_number: int) -> float:
        ceiling = min(
            self.max_delay, self.initial_delay * self.multiplier**retry_number
        )
        return random.uniform(0, ceiling)


def is_retryable(error: Exception) -> bool:
    """Transient failures are retried; an expired thumbnail needs a new id instead."""
    return (
        isinstance(error, RenderError)
        and error.outcome is Outcome.TRANSIENT
        and not isinstance(error, ThumbnailExpired)
    )


def call_with_retry(
    operation: Callable[[], T],
    policy: RetryPolicy,
    description: str,
    *,
    retryable: Callable[[RenderError], bool] = is_retryable,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Run ``operation`` until it succeeds, fails for good, or the policy runs out."""
    started = clock()
    attempt = 1
    while True:
        try:
            return operation()
        except RenderError as error:
            if not retryable(error) or attempt >= policy.max_attempts:
                raise
            wait = max(policy.backoff(attempt - 1), error.retry_after or 0.0)
            remaining = policy.deadline - (clock() - started)
            if wait >= remaining:
                logger.warning(
                    "%s failed and the deadline leaves no time to retry: %s",
                    description,
                    error.message,
                    extra={"json_fields": {"attempt": attempt, "code": error.code}},
                )
                raise
            logger.warning(
                "%s failed, attempt %d of %d, retrying in %.2f s: %s",
                description,
                attempt,
                policy.max_attempts,
                wait,
                error.message,
                extra={"json_fields": {"attempt": attempt, "code": error.code}},
            )
            sleep(wait)
            attempt += 1
