"""Structured JSON logs, one object per line, in the shape Cloud Logging parses.

Cloud Run and Cloud Functions turn each stdout line that is a JSON object into a
structured entry: `severity` and `message` are recognised, and
`logging.googleapis.com/trace` ties the line to the request trace. Extra fields go under
`json_fields` in `extra=`.
"""

from __future__ import annotations

import contextvars
import datetime
import json
import logging
import re
import sys
from typing import Any

# Request-scoped context: the trace and request id appear on every line of one request.
_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "render_log_context", default=None
)

# Secrets that could reach a message through a URL or an upstream error text.
_SECRET_PATTERNS = (
    (
        re.compile(r"([?&](?:key|access_token|X-Goog-Signature)=)[^&\s\"']+", re.I),
        r"\1***",
    ),
    (re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+", re.I), r"\1***"),
)


def redact(text: str) -> str:
    """Mask API keys, bearer tokens and URL signatures in ``text``."""
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class CloudLoggingFormatter(logging.Formatter):
    """Format records as single-line JSON with Cloud Logging's special keys."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "severity": record.levelname,
            "message": redact(record.getMessage()),
            "time": datetime.datetime.fromtimestamp(
                record.created, tz=datetime.UTC
            ).isoformat(),
            "logger": record.name,
        }
        context = _context.get()
        if context:
            entry.update(context)
        fields = getattr(record, "json_fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str, ensure_ascii=False)


class _StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stdout`` is at the time, not at start-up."""

    @property
    def stream(self) -> Any:
        return sys.stdout

    @stream.setter
    def stream(self, value: Any) -> None:
        pass  # the stream is always the current sys.stdout


def configure(level: str = "INFO") -> None:
    """Send every log record to stdout as JSON; safe to call more than once."""
    root = logging.getLogger()
    if not any(isinstance(h, _StdoutHandler) for h in root.handlers):
        handler = _StdoutHandler()
        handler.setFormatter(CloudLoggingFormatter())
        root.addHandler(handler)
    # An unknown level name must not stop the function from logging why it fails.
    root.setLevel(level if level in logging.getLevelNamesMapping() else "INFO")


def bind(project: str | None, trace_header: str | None, **fields: Any) -> None:
    """Attach the trace from ``X-Cloud-Trace-Context`` and ``fields`` to later lines."""
    context: dict[str, Any] = dict(fields)
    if trace_header and project:
        trace_id = trace_header.split("/", 1)[0]
        if re.fullmatch(r"[0-9a-fA-F]{1,64}", trace_id):
            context["logging.googleapis.com/trace"] = (
                f"projects/{project}/traces/{trace_id}"
            )
    _context.set(context)


def clear() -> None:
    _context.set(None)
