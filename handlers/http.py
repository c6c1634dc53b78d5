"""The HTTP trigger: POST a render request as JSON, or GET it as query parameters.

``delivery: redirect`` responds with a 302 to the Earth Engine pixel URL, so the
function's URL works as an ``<img src>``; ``Accept: application/json`` (or
``response=json``) gets ``{"url"}`` instead. ``delivery: store`` copies the image into
Cloud Storage and returns the object's details.
"""

from __future__ import annotations

import io
import json
import logging
import re
import time
import uuid
from http import HTTPStatus
from typing import Any

import flask

from eerender import auth, logs, ratelimit, services
from eerender.errors import Forbidden, InvalidRequest, MethodNotAllowed, PayloadTooLarge
from eerender.events import decode_json
from eerender.policy import check_redirect
from eerender.request import RenderRequest, parse_render_request, request_from_query
from eerender.responses import error_answer
from eerender.validation import excerpt
from handlers import batch

logger = logging.getLogger(__name__)

ALLOWED_METHODS = "GET, POST, OPTIONS"
ALLOWED_HEADERS = (
    "Authorization, Content-Type, X-Request-Id, X-Render-Timestamp, "
    "X-Render-Signature, X-Render-Key-Id"
)
EXPOSED_HEADERS = "Location, Retry-After, X-Request-Id"
PREFLIGHT_MAX_AGE = "3600"
# Not /healthz: Google's front end reserves some paths ending in "z" on run.app hosts.
HEALTH_PATH = "/health"
# Request ids from callers are echoed in headers and logs, so only plain tokens pass.
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")


def handle(request: flask.Request) -> flask.Response:
    """Serve one HTTP render request; every response, errors too, has CORS headers."""
    started = time.monotonic()
    request_id = _request_id(request)
    response = _serve(request, request_id)
    response.headers["X-Request-Id"] = request_id
    _add_cors(request, response)
    logger.info(
        "%s %s -> %d",
        request.method,
        request.path,
        response.status_code,
        extra={
            "json_fields": {
                "httpRequest": {
                    "requestMethod": request.method,
                    "status": response.status_code,
                    "latency": f"{time.monotonic() - started:.3f}s",
                    "userAgent": request.headers.get("User-Agent", ""),
                }
            }
        },
    )
    logs.clear()
    return response


def _request_id(request: flask.Request) -> str:
    """Return the caller's X-Request-Id when it is a plain token, else a new one."""
    caller_id = request.headers.get("X-Request-Id", "")
    return caller_id if REQUEST_ID.fullmatch(caller_id) else uuid.uuid4().hex


def _serve(request: flask.Request, request_id: str) -> flask.Response:
    try:
        logs.bind(None, None, request_id=request_id)
        settings = services.get().settings
        logs.bind(
            settings.ee_project,
            request.headers.get("X-Cloud-Trace-Context"),
            request_id=request_id,
        )
        if request.method == "OPTIONS":
            return _preflight(request)
        if request.path == HEALTH_PATH and request.method == "GET":
            return _health()  # unauthenticated, so uptime checks need no key
        raw_body = _read_body(request, settings.max_body_bytes)
        caller = auth.authenticate(request, raw_body, settings)
        ratelimit.check_rate(caller.key, settings)
        if request.path.rstrip("/") == "/batch":
            return batch.handle(_replayed(request, raw_body))
        if request.method not in ("GET", "POST"):
            raise MethodNotAllowed(
                f"Method {request.method} is not supported; use GET or POST.",
                value=request.method,
            )
        data = _read_request(request, raw_body, caller.query)
        wants_json = _wants_json(request, data)
        render_request = parse_render_request(data, settings)
        ratelimit.check_pixels(render_request, settings)
        return _render(render_request, wants_json)
    except Exception as error:  # every failure becomes a JSON response here
        status, headers, body = error_answer(error)
        body["error"]["request_id"] = request_id
        return _json(body, status, headers)


def _read_body(request: flask.Request, max_bytes: int) -> bytes:
    """Read the raw body once, for the signature check and then for the request."""
    if request.method in ("GET", "HEAD"):
        return b""
    if request.content_length is not None and request.content_length > max_bytes:
        raise PayloadTooLarge(
            f"The request body is {request.content_length} bytes; the limit is "
            f"{max_bytes}. Send a smaller expression or refer to an asset.",
            value=request.content_length,
            limit=max_bytes,
        )
    raw = request.stream.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise PayloadTooLarge(
            f"The request body is over the {max_bytes}-byte limit.", limit=max_bytes
        )
    return bytes(raw)


def _replayed(request: flask.Request, body: bytes) -> flask.Request:
    """Return a copy of ``request`` whose stream yields ``body`` again."""
    environ = {
        **request.environ,
        "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)),
    }
    return flask.Request(environ)


def _read_request(
    request: flask.Request, body: bytes, query: dict[str, list[str]]
) -> Any:
    if request.method == "GET":
        return request_from_query(query)

    mimetype = request.mimetype or ""
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        raise InvalidRequest(
            f"Content-Type {mimetype or 'missing'!r} is not supported; send the render "
            "request as application/json.",
            code="UNSUPPORTED_CONTENT_TYPE",
            value=mimetype,
        )
    return decode_json(body, "request body")


def _wants_json(request: flask.Request, data: Any) -> bool:
    """Pop the ``response`` option from the request; return whether JSON was requested.

    ``response=json`` lets fetch() callers choose JSON without setting headers.
    """
    if isinstance(data, dict) and "response" in data:
        choice = data.pop("response")
        if choice not in ("json", "redirect"):
            raise InvalidRequest(
                f"response={excerpt(choice)} is not supported; use 'json' or "
                "'redirect'.",
                field="/response",
                value=choice,
            )
        return bool(choice == "json")
    # Only an explicit application/json counts: browsers and fetch() send */* or image
    # types, and an <img src> must keep getting the redirect.
    explicit = dict(request.accept_mimetypes)
    json_quality = explicit.get("application/json", 0)
    image_quality = max(
        (quality for kind, quality in explicit.items() if kind.startswith("image/")),
        default=0,
    )
    return json_quality > 0 and json_quality >= image_quality


def _render(render_request: RenderRequest, wants_json: bool) -> flask.Response:
    renderer = services.get().renderer
    if render_request.delivery == "store":
        result = renderer.store(render_request)
        body = {**result.to_json(), "defaults_applied": render_request.defaults_applied}
        if result.signed_url and not wants_json:
            return _redirect(result.signed_url, max_age=0)
        status = HTTPStatus.CREATED if result.stored.newly_rendered else HTTPStatus.OK
        return _json(body, status)

    link = renderer.link(render_request)
    if wants_json:
        body = {**link.to_json(), "defaults_applied": render_request.defaults_applied}
        return _json(
            body, HTTPStatus.OK, {"Cache-Control": f"private, max-age={link.max_age}"}
        )
    return _redirect(link.url, max_age=link.max_age)


def _health() -> flask.Response:
    report = services.get().health.report()
    if report.healthy:
        return _json(report.to_json(), HTTPStatus.OK, {"Cache-Control": "no-store"})
    # The check is repeated at most once a minute, so asking sooner shows nothing new.
    headers = {"Cache-Control": "no-store", "Retry-After": "60"}
    return _json(report.to_json(), HTTPStatus.SERVICE_UNAVAILABLE, headers)


def _redirect(url: str, max_age: int) -> flask.Response:
    check_redirect(url, services.get().settings)
    response = flask.Response(status=HTTPStatus.FOUND)
    response.headers["Location"] = url
    response.headers["Cache-Control"] = (
        f"private, max-age={max_age}" if max_age else "no-store"
    )
    return response


def _json(
    body: dict[str, Any], status: int, headers: dict[str, str] | None = None
) -> flask.Response:
    response = flask.Response(
        json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json"
    )
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _preflight(request: flask.Request) -> flask.Response:
    if not _origin_allowed(request.headers.get("Origin")):
        raise Forbidden(
            f"Origin {request.headers.get('Origin')!r} may not call this function; "
            "add it to CORS_ALLOWED_ORIGINS.",
            code="ORIGIN_NOT_ALLOWED",
        )
    response = flask.Response(status=HTTPStatus.NO_CONTENT)
    response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
    response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
    response.headers["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
    return response


def _origin_allowed(origin: str | None) -> bool:
    if not origin:
        return False
    try:
        allowed = services.get().settings.cors_allowed_origins
    except Exception:  # configuration errors are reported by the request itself
        return False
    return origin in allowed or "*" in allowed


def _add_cors(request: flask.Request, response: flask.Response) -> None:
    origin = request.headers.get("Origin")
    response.headers.add("Vary", "Origin")
    if not _origin_allowed(origin):
        return
    response.headers["Access-Control-Allow-Origin"] = origin or ""
    response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
