"""Errors become HTTP responses here and nowhere else."""

from __future__ import annotations

import logging
import math
from http import HTTPStatus
from typing import Any

from eerender.errors import Outcome, RenderError

logger = logging.getLogger(__name__)


def error_answer(error: Exception) -> tuple[int, dict[str, str], dict[str, Any]]:
    """Return (status, headers, JSON body) for any exception; never an empty 500."""
    if not isinstance(error, RenderError):
        logger.exception("Unexpected failure", exc_info=error)
        error = RenderError(
            "The render failed unexpectedly. Retry; if it persists, report the "
            "request id of this answer to the operator.",
            code="INTERNAL",
        )
    _log(error)
    headers = {"Cache-Control": "no-store"}
    if error.retry_after is not None:
        headers["Retry-After"] = str(max(1, math.ceil(error.retry_after)))
    elif error.http_status in (
        HTTPStatus.TOO_MANY_REQUESTS,
        HTTPStatus.SERVICE_UNAVAILABLE,
    ):
        headers["Retry-After"] = "5"
    return int(error.http_status), headers, error.to_json()


def _log(error: RenderError) -> None:
    fields = {
        "code": error.code,
        "status": int(error.http_status),
        "field": error.field,
    }
    if error.upstream is not None:
        fields["upstream"] = error.upstream.to_json()
    if error.outcome is Outcome.CONFIGURATION:
        logger.error(
            "Configuration problem: %s", error.message, extra={"json_fields": fields}
        )
    elif error.outcome is Outcome.TRANSIENT:
        logger.warning(
            "Render failed: %s", error.message, extra={"json_fields": fields}
        )
    else:
        logger.info(
            "Request rejected: %s", error.message, extra={"json_fields": fields}
        )
