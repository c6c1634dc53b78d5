"""``POST /batch`` on the HTTP function: publish one render request per batch item.

The body is a batch description (see ``eerender.batch``). Every item is checked first,
so an invalid batch publishes nothing and gets a 400 naming the item. An accepted batch
returns 202 with the batch id, each item's request id and result URI, and the manifest
that appears when the last item finishes. Errors are raised to the HTTP handler, which
turns every error into its JSON answer.
"""

from __future__ import annotations

import json
from http import HTTPStatus

import flask

from eerender import events, services, worker
from eerender.batch import plan_batch, publish_batch
from eerender.errors import (
    ConfigurationError,
    InvalidRequest,
    MethodNotAllowed,
    PayloadTooLarge,
)


def handle(request: flask.Request) -> flask.Response:
    """Publish the batch in ``request`` and return its receipt with status 202.

    Raises:
        RenderError: an invalid batch, a missing REQUEST_TOPIC, or a failed publish.
    """
    settings = services.get().settings
    if request.method != "POST":
        raise MethodNotAllowed(
            f"Method {request.method} is not supported on /batch; POST a batch.",
            value=request.method,
        )
    if not settings.request_topic:
        raise ConfigurationError(
            "POST /batch needs REQUEST_TOPIC, the topic the Pub/Sub trigger reads.",
            code="REQUEST_TOPIC_MISSING",
        )

    plan = plan_batch(_read_json(request, settings.max_body_bytes), settings)
    runner = worker.get()
    receipt = publish_batch(
        plan, settings.request_topic, runner.publisher, runner.records
    )
    return flask.Response(
        json.dumps(receipt, ensure_ascii=False),
        status=HTTPStatus.ACCEPTED,
        mimetype="application/json",
    )


def _read_json(request: flask.Request, max_bytes: int) -> object:
    mimetype = request.mimetype or ""
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        raise InvalidRequest(
            f"Content-Type {mimetype or 'missing'!r} is not supported; send the batch "
            "as application/json.",
            code="UNSUPPORTED_CONTENT_TYPE",
            value=mimetype,
        )
    raw = request.stream.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise PayloadTooLarge(
            f"The batch is over the {max_bytes}-byte limit; split it or use frames.",
            limit=max_bytes,
        )
    return events.decode_json(raw, "batch")
