"""Retry policy: what is retried, how long it waits, and when it gives up."""

from __future__ import annotations

import pytest

from eerender.errors import (
    ConfigurationError,
    InvalidRequest,
    RenderError,
    ThumbnailExpired,
    UpstreamBusy,
    UpstreamUnavailable,
)
from eerender.retry import RetryPolicy, call_with_retry


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def __call__(self) -> float:
        return self.now


def failing(errors: list[RenderError]) -> object:
    calls = {"count": 0}

    def operation() -> str:
        calls["count"] += 1
        if errors:
            raise errors.pop(0)
        return "done"

    operation.calls = calls  # type: ignore[attr-defined]
    return operation


def run(operation: object, policy: RetryPolicy, clock: FakeClock) -> str:
    return call_with_retry(
        operation,  # type: ignore[arg-type]
        policy,
        "test call",
        sleep=clock.sleep,
        clock=clock,
    )


def test_transient_errors_retried_until_success() -> None:
    clock = FakeClock()
    operation = failing([UpstreamUnavailable("down"), UpstreamUnavailable("down")])

    assert run(operation, RetryPolicy(max_attempts=5), clock) == "done"
    assert operation.calls["count"] == 3  # type: ignore[attr-defined]
    assert len(clock.sleeps) == 2


@pytest.mark.parametrize(
    "error",
    [
        InvalidRequest("bad"),
        ConfigurationError("no role"),
        ThumbnailExpired("gone"),
    ],
)
def test_other_errors_never_retried(error: RenderError) -> None:
    clock = FakeClock()
    operation = failing([error])

    with pytest.raises(type(error)):
        run(operation, RetryPolicy(max_attempts=5), clock)
    assert operation.calls["count"] == 1  # type: ignore[attr-defined]
    assert clock.sleeps == []


def test_attempts_are_bounded() -> None:
    clock = FakeClock()
    operation = failing([UpstreamUnavailable("down")] * 10)

    with pytest.raises(UpstreamUnavailable):
        run(operation, RetryPolicy(max_attempts=3), clock)
    assert operation.calls["count"] == 3  # type: ignore[attr-defined]


def test_retry_after_is_honoured() -> None:
    clock = FakeClock()
    operation = failing([UpstreamBusy("quota", retry_after=7.0)])

    run(operation, RetryPolicy(max_attempts=3, initial_delay=0.1), clock)
    assert clock.sleeps == [7.0]


def test_deadline_stops_retries() -> None:
    clock = FakeClock()
    operation = failing([UpstreamBusy("quota", retry_after=30.0)])

    with pytest.raises(UpstreamBusy):
        run(operation, RetryPolicy(max_attempts=5, deadline=10.0), clock)
    assert clock.sleeps == []


def test_backoff_grows_and_is_capped() -> None:
    policy = RetryPolicy(initial_delay=1.0, multiplier=2.0, max_delay=5.0)

    for retry_number in range(8):
        assert 0 <= policy.backoff(retry_number) <= min(5.0, 2.0**retry_number)
