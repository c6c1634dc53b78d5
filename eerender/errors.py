"""One exception hierarchy for every failure a render can meet.

Each class carries the HTTP status the caller sees and the outcome an event trigger acts
on: a permanent failure is acknowledged and recorded, a transient one is raised so the
platform redelivers, a configuration failure is raised and logged at ERROR until an
operator fixes it. Errors that come from Earth Engine or Cloud Storage keep the upstream
status and message.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

MAX_MESSAGE_CHARS = 1000


class Outcome(enum.Enum):
    """What an event trigger does with a failure."""

    PERMANENT = "permanent"
    TRANSIENT = "transient"
    CONFIGURATION = "configuration"


@dataclass(frozen=True)
class Upstream:
    """The status and message a backing service responded with."""

    service: str
    status: int | None
    message: str
    status_name: str | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "service": self.service,
            "status": self.status,
            "message": self.message,
        }
        if self.status_name:
            body["status_name"] = self.status_name
        return body


class RenderError(Exception):
    """Base class: a failure with a stable code, an HTTP status and an event outcome.

    Args:
        message: What failed, on which value, and what to do next.
        code: Stable machine-readable code, for example ``INVALID_PALETTE``.
        field: JSON pointer of the request field at fault, when there is one.
        value: The offending value, shortened for the response.
        limit: The limit that was exceeded, when one was.
        upstream: The response of Earth Engine or Cloud Storage, when there was one.
        retry_after: Seconds the caller should wait before retrying.
    """

    http_status: HTTPStatus = HTTPStatus.INTERNAL_SERVER_ERROR
    outcome: Outcome = Outcome.TRANSIENT
    default_code = "INTERNAL"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        value: Any = None,
        limit: Any = None,
        upstream: Upstream | None = None,
        retry_after: float | None = None,
        http_status: HTTPStatus | None = None,
    ) -> None:
        # Messages quote the caller's values; a multi-megabyte value must not come
        # back in the response or fill the logs.
        if len(message) > MAX_MESSAGE_CHARS:
            message = message[:MAX_MESSAGE_CHARS] + "... (message shortened)"
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.field = field
        self.value = value
        self.limit = limit
        self.upstream = upstream
        self.retry_after = retry_after
        if http_status is not None:
            self.http_status = http_status

    @property
    def retryable(self) -> bool:
        return self.outcome is not Outcome.PERMANENT

    def to_json(self) -> dict[str, Any]:
        """Return the body ``{"error": {...}}`` that every trigger reports."""
        error: dict[str, Any] = {
            "code": self.code,
            "status": int(self.http_status),
            "message": self.message,
            "retryable": self.retryable,
        }
        if self.field is not None:
            error["field"] = self.field
        if self.value is not None:
            error["value"] = _shorten(self.value)
        if self.limit is not None:
            error["limit"] = self.limit
        if self.retry_after is not None:
            error["retry_after_seconds"] = self.retry_after
        error["upstream"] = self.upstream.to_json() if self.upstream else None
        return {"error": error}


def _shorten(value: Any, max_chars: int = 200) -> Any:
    """Keep echoed values small: a 10 MiB expression must not come back in an error."""
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    text = value if isinstance(value, str) else repr(value)
    if len(text) <= max_chars:
        return value if isinstance(value, str) else text
    return text[:max_chars] + "..."


# Caller mistakes. Never retried.


class InvalidRequest(RenderError):
    """The request is malformed or asks for something Earth Engine would reject."""

    http_status = HTTPStatus.BAD_REQUEST
    outcome = Outcome.PERMANENT
    default_code = "INVALID_REQUEST"


class PayloadTooLarge(InvalidRequest):
    """The request body itself is over the accepted size."""

    http_status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    default_code = "REQUEST_TOO_LARGE"


class ComputationTooLarge(RenderError):
    """Earth Engine ran out of memory or time on this input; ask for less."""

    http_status = HTTPStatus.UNPROCESSABLE_ENTITY
    outcome = Outcome.PERMANENT
    default_code = "COMPUTATION_TOO_LARGE"


class EventExpired(RenderError):
    """The event waited longer than EVENT_MAX_AGE and is no longer worth rendering."""

    http_status = HTTPStatus.GONE
    outcome = Outcome.PERMANENT
    default_code = "EVENT_EXPIRED"


class NotFound(RenderError):
    http_status = HTTPStatus.NOT_FOUND
    outcome = Outcome.PERMANENT
    default_code = "NOT_FOUND"


class MethodNotAllowed(RenderError):
    http_status = HTTPStatus.METHOD_NOT_ALLOWED
    outcome = Outcome.PERMANENT
    default_code = "METHOD_NOT_ALLOWED"


class Forbidden(RenderError):
    """The caller may not ask for this (an unlisted bucket, an origin, a signature)."""

    http_status = HTTPStatus.FORBIDDEN
    outcome = Outcome.PERMANENT
    default_code = "FORBIDDEN"


class Unauthenticated(RenderError):
    http_status = HTTPStatus.UNAUTHORIZED
    outcome = Outcome.PERMANENT
    default_code = "UNAUTHENTICATED"


class RateLimited(RenderError):
    """This product's own per-caller limit was reached."""

    http_status = HTTPStatus.TOO_MANY_REQUESTS
    outcome = Outcome.TRANSIENT
    default_code = "RATE_LIMITED"


# Deployment mistakes. Raised on event paths so requests wait for the fix.


class ConfigurationError(RenderError):
    """The deployment is missing a setting, a role, a registration or an enabled API."""

    http_status = HTTPStatus.SERVICE_UNAVAILABLE
    outcome = Outcome.CONFIGURATION
    default_code = "CONFIGURATION_ERROR"


# Failures of the services behind us.


class UpstreamError(RenderError):
    """Earth Engine or Cloud Storage failed in a way that may pass."""

    http_status = HTTPStatus.BAD_GATEWAY
    outcome = Outcome.TRANSIENT
    default_code = "UPSTREAM_ERROR"


class UpstreamBusy(UpstreamError):
    """Quota or concurrency limits upstream: wait ``retry_after`` seconds."""

    http_status = HTTPStatus.TOO_MANY_REQUESTS
    default_code = "EE_BUSY"


class UpstreamUnavailable(UpstreamError):
    http_status = HTTPStatus.SERVICE_UNAVAILABLE
    default_code = "EE_UNAVAILABLE"


class UpstreamTimeout(UpstreamError):
    http_status = HTTPStatus.GATEWAY_TIMEOUT
    default_code = "EE_TIMEOUT"


class ThumbnailExpired(UpstreamError):
    """The thumbnail id is no longer valid; creating a new one fixes it."""

    http_status = HTTPStatus.BAD_GATEWAY
    default_code = "THUMBNAIL_EXPIRED"


class StorageError(UpstreamError):
    """Cloud Storage refused or failed a read or write."""

    default_code = "STORAGE_ERROR"
