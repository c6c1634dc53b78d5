"""What an event trigger does with a failure, decided here and nowhere else.

A permanent failure (an invalid request, Earth Engine's 400) is acknowledged and
recorded, because delivering it again gives the same result. A transient failure
(Earth Engine's 429 and 5xx, time-outs, resets, Cloud Storage's 5xx) is raised, so the
platform redelivers the event with backoff. A configuration failure (a missing role,
registration or enabled API) is raised too and logged at ERROR with the fix, so the
requests wait for an operator instead of being lost.
"""

from __future__ import annotations

import datetime
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from eerender.errors import Outcome, RenderError

logger = logging.getLogger(__name__)

FAILURE_SUFFIX = ".failure.json"
FAILURES_FOLDER = "failures/"
# Object names keep request ids readable but drop what could escape the prefix.
_UNSAFE_NAME_CHARACTERS = re.compile(r"[^A-Za-z0-9._=-]+")
MAX_ID_CHARACTERS = 200


@dataclass(frozen=True)
class EventContext:
    """Source and ids of one event, which its outcome is logged and recorded with."""

    trigger: str
    event_id: str
    request_id: str
    source: str
    event_time: datetime.datetime | None = None
    delivery_attempt: int | None = None
    reply: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "trigger": self.trigger,
            "event_id": self.event_id,
            "request_id": self.request_id,
            "source": self.source,
            "event_time": self.event_time.isoformat() if self.event_time else None,
            "delivery_attempt": self.delivery_attempt,
        }


def as_render_error(error: Exception) -> RenderError:
    """Return ``error`` itself, or a transient INTERNAL error for unexpected ones.

    An unexpected exception may be a passing fault, so it is retried. A bug that
    fails every time then ends in the subscription's dead-letter topic, not in silence.
    """
    if isinstance(error, RenderError):
        return error
    logger.exception("Unexpected failure while handling an event", exc_info=error)
    return RenderError(
        f"The event failed unexpectedly ({type(error).__name__}); it will be retried.",
        code="INTERNAL",
    )


def failure_record(
    context: EventContext,
    error: RenderError,
    request: Any,
    result_uri: str | None,
    now: datetime.datetime,
) -> dict[str, Any]:
    """Build the JSON object that records a permanent failure."""
    return {
        "status": "failed",
        "request_id": context.request_id,
        "event": context.to_json(),
        "request": request,
        "result_uri": result_uri,
        **error.to_json(),
        "recorded_at": now.isoformat(),
    }


def failure_name(
    result_name: str | None, object_prefix: str, request_id: str, event_id: str
) -> str:
    """Name the failure record: next to the result, or under failures/ without one.

    Without a result name the record is named by request id and event id: publishers
    may reuse a request id for different messages, and each must keep its record,
    while redeliveries of one event keep one.
    """
    if result_name:
        return result_name + FAILURE_SUFFIX
    ids = [request_id] if event_id in ("", request_id) else [request_id, event_id]
    safe = ".".join(
        _UNSAFE_NAME_CHARACTERS.sub("_", value)[:MAX_ID_CHARACTERS] for value in ids
    )
    return f"{object_prefix}{FAILURES_FOLDER}{safe or 'unnamed'}.json"


def log_outcome(context: EventContext, error: RenderError) -> None:
    """Log a failure at the severity its outcome deserves, with the event's ids."""
    fields: dict[str, Any] = {
        **context.to_json(),
        "code": error.code,
        "outcome": error.outcome.value,
    }
    if error.upstream is not None:
        fields["upstream"] = error.upstream.to_json()
    extra = {"json_fields": fields}

    if error.outcome is Outcome.CONFIGURATION:
        logger.error(
            "Configuration problem; the event is redelivered, then dead-lettered: %s",
            error.message,
            extra=extra,
        )
    elif error.outcome is Outcome.TRANSIENT:
        logger.warning(
            "Transient failure; raising so the event is redelivered: %s",
            error.message,
            extra=extra,
        )
    else:
        logger.warning(
            "Permanent failure; acknowledging and recording it: %s",
            error.message,
            extra=extra,
        )
