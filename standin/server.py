"""HTTP server of the Earth Engine stand-in: routes, authentication, project checks.

Requests to the Earth Engine REST paths pass these steps in order: body size, bearer
token, injected faults, quota-project and registration checks, then the route's
handler, which calls the evaluation engine. Every failure leaves as Earth Engine's
`{"error": {"code", "message", "status"}}` body.
"""

from __future__ import annotations

import collections
import functools
import hashlib
import http.server
import json
import logging
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from http import HTTPStatus
from typing import Any, Literal, Protocol, get_args
from urllib.parse import parse_qsl, unquote, urlsplit

from standin import discovery, errors, faults
from standin.errors import EEError
from standin.thumbnails import DEFAULT_TTL_SECONDS, ThumbnailStore

logger = logging.getLogger(__name__)

ProjectState = Literal[
    "registered", "not-registered", "api-disabled", "no-serviceusage"
]
PROJECT_STATES: tuple[str, ...] = get_args(ProjectState)

JSON_TYPE = "application/json; charset=UTF-8"
USER_PROJECT_HEADER = "X-Goog-User-Project"

_VERSION = "(?P<version>" + "|".join(discovery.API_VERSIONS) + ")"
_PROJECT = "/" + _VERSION + "/projects/(?P<project>[^/]+)"
# Top-level fields of each request body. Other names are rejected with the API
# front end's "Unknown name" error.
_PIXEL_FIELDS = frozenset(
    {"expression", "fileFormat", "bandIds", "visualizationOptions", "grid"}
)
_THUMBNAIL_FIELDS = _PIXEL_FIELDS | {"name", "filenamePrefix"}
_COMPUTE_PIXELS_FIELDS = _PIXEL_FIELDS | {"workloadTag"}
_COMPUTE_VALUE_FIELDS = frozenset({"expression", "workloadTag"})
_WRITE_CHUNK_BYTES = 64 * 1024
# Oversized bodies up to this size are read and dropped so that the client sees the
# 400 and not a reset. The server responds to larger ones at once and closes the
# connection.
_MAX_DRAIN_BYTES = 64 * 1024 * 1024


class EvaluationEngine(Protocol):
    """Interface of the expression evaluator that the server calls.

    Each method takes the parsed JSON request body and raises EEError for input
    that Earth Engine would reject.
    """

    def check_thumbnail(self, body: dict[str, Any]) -> None: ...

    def render_thumbnail(self, body: dict[str, Any]) -> tuple[bytes, str]: ...

    def compute_pixels(self, body: dict[str, Any]) -> tuple[bytes, str]: ...

    def compute_value(self, body: dict[str, Any]) -> object: ...


@dataclass(frozen=True)
class ServerConfig:
    """Listening address and the behaviour switches of the `python -m standin` CLI."""

    host: str = "127.0.0.1"
    port: int = 0
    thumbnail_ttl: float = DEFAULT_TTL_SECONDS
    # None accepts any bearer token, but a token is still required.
    require_token: str | None = None
    check_user_project: bool = False
    project_state: ProjectState = "registered"


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = JSON_TYPE
    headers: dict[str, str] = field(default_factory=dict)
    # The error message of an error response, for the request log.
    error: str | None = None


@dataclass
class ApiRequest:
    """One parsed HTTP request and the route parameters taken from its path."""

    http_method: str
    path: str
    query: dict[str, str]
    headers: Message
    body: bytes
    params: dict[str, str]
    fault: faults.Fault | None = None


Handler = Callable[["StandinServer", ApiRequest], Response]


@dataclass(frozen=True)
class Route:
    http_method: str
    pattern: re.Pattern[str]
    api_method: str
    handler: Handler
    authenticated: bool


class RequestStats:
    """Thread-safe counts of requests, response statuses and engine calls.

    Tests read them to prove, for example, that a second request was served
    without a second render.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._requests: collections.Counter[str] = collections.Counter()
            self._responses: dict[str, collections.Counter[str]] = (
                collections.defaultdict(collections.Counter)
            )
            self._engine_calls: collections.Counter[str] = collections.Counter()
            self._faults: collections.Counter[str] = collections.Counter()

    def count_request(self, api_method: str) -> None:
        with self._lock:
            self._requests[api_method] += 1

    def count_response(self, api_method: str, status: int | None) -> None:
        with self._lock:
            self._responses[api_method][str(status or "reset")] += 1

    def count_engine_call(self, name: str) -> None:
        with self._lock:
            self._engine_calls[name] += 1

    def count_fault(self, kind: str) -> None:
        with self._lock:
            self._faults[kind] += 1

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": dict(self._requests),
                "responses": {
                    method: dict(counts) for method, counts in self._responses.items()
                },
                "engine_calls": dict(self._engine_calls),
                "faults": dict(self._faults),
            }


class StandinServer:
    """The stand-in's state and request handling, bound to a listening socket.

    The engine is passed in so that tests can supply their own evaluator. The
    clock drives thumbnail expiry and can be replaced to test it.
    """

    def __init__(
        self,
        config: ServerConfig,
        engine: EvaluationEngine,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.engine = engine
        self.thumbnails = ThumbnailStore(config.thumbnail_ttl, clock)
        self.faults = faults.FaultQueue()
        self.stats = RequestStats()

        self._discovery, self._algorithms = _client_documents()

        self._httpd = _HTTPServer((config.host, config.port), RequestHandler, self)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def start(self) -> None:
        """Serve from a background thread until close() is called."""
        # A short poll interval keeps close() quick, which matters in tests that
        # start a server each.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="standin",
            daemon=True,
        )
        self._thread.start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join()

    def reset(self) -> None:
        self.stats.reset()
        self.faults.clear()
        self.thumbnails.clear()

    def handle(
        self, route: Route, request: ApiRequest
    ) -> tuple[Response | None, faults.Fault | None]:
        """Run one routed request and return the response and the fault applied.

        The response is None when the fault is a connection reset, which the
        caller carries out on the socket.
        """
        try:
            if route.authenticated:
                self._authenticate(request)
            if route.api_method in faults.FAULT_METHODS:
                request.fault = self._take_fault(route, request)
                if request.fault is not None and request.fault.fault == faults.RESET:
                    return None, request.fault
                self._apply_fault(request)
            if route.authenticated:
                self._check_project(route, request)
            return route.handler(self, request), request.fault
        except EEError as error:
            return error_response(error), request.fault
        except Exception:
            logger.exception("%s %s failed", request.http_method, request.path)
            return error_response(errors.internal()), request.fault

    def _authenticate(self, request: ApiRequest) -> None:
        token = _bearer_token(request)
        if token is None:
            raise errors.missing_credentials()
        if self.config.require_token is not None and token != self.config.require_token:
            raise errors.invalid_credentials()

    def _take_fault(self, route: Route, request: ApiRequest) -> faults.Fault | None:
        header = request.headers.get(faults.FAULT_HEADER)
        if header is None:
            fault = self.faults.take(route.api_method)
        else:
            fault = faults.parse_fault_header(header)
            if not fault.matches(route.api_method):
                raise errors.invalid_argument(
                    f"{faults.FAULT_HEADER}: {fault.fault!r} does not apply to"
                    f" {route.api_method}."
                )
        if fault is not None:
            self.stats.count_fault(fault.fault)
        return fault

    def _apply_fault(self, request: ApiRequest) -> None:
        """Sleep for a slow fault, or raise the error of an error fault.

        Truncation and expiry act later, when the response is built or sent.
        """
        fault = request.fault
        if fault is None:
            return
        if fault.fault == faults.SLOW:
            time.sleep(fault.delay_seconds)
        elif fault.fault == faults.QUOTA:
            number = project_number(request.params["project"])
            raise errors.quota_exceeded(number, fault.retry_after)
        elif fault.fault == faults.INTERNAL:
            raise errors.internal()
        elif fault.fault == faults.UNAVAILABLE:
            raise errors.unavailable()

    def _check_project(self, route: Route, request: ApiRequest) -> None:
        project = request.params["project"]
        if self.config.check_user_project:
            consumer = request.headers.get(USER_PROJECT_HEADER)
            if consumer != project:
                raise errors.service_usage_denied(consumer or project)

        state = self.config.project_state
        if state == "api-disabled":
            raise errors.api_disabled(project_number(project))
        if state == "no-serviceusage":
            raise errors.service_usage_denied(project)
        # An unregistered project can still read its config, which then reports
        # NOT_REGISTERED.
        if state == "not-registered" and route.api_method != "projects.getConfig":
            raise errors.project_not_registered(project)

    def _call_engine(self, name: str, body: dict[str, Any]) -> Any:
        self.stats.count_engine_call(name)
        return getattr(self.engine, name)(body)

    # Route handlers, in the order of the route table.

    def get_discovery(self, request: ApiRequest) -> Response:
        version = request.query.get("version", discovery.DEFAULT_API_VERSION)
        document = self._discovery.get(version)
        if document is None:
            raise errors.not_found(
                f"Discovery document for version {version!r} not found. Served"
                f" versions: {', '.join(discovery.API_VERSIONS)}."
            )
        host = request.headers.get("Host") or self.url.removeprefix("http://")
        body = discovery.render_discovery_document(document, f"http://{host}/")
        return Response(HTTPStatus.OK, body)

    def list_algorithms(self, request: ApiRequest) -> Response:
        return Response(HTTPStatus.OK, self._algorithms)

    def create_thumbnail(self, request: ApiRequest) -> Response:
        body = _parse_json_object(request.body, _THUMBNAIL_FIELDS)
        body.pop("name", None)
        self._call_engine("check_thumbnail", body)
        thumbnail = self.thumbnails.create(request.params["project"], body)

        resource = {key: value for key, value in body.items() if value is not None}
        resource["name"] = thumbnail.name
        return json_response(_select_fields(resource, request.query.get("fields")))

    def get_thumbnail_pixels(self, request: ApiRequest) -> Response:
        project = request.params["project"]
        thumbnail_id = request.params["thumbnail"]
        if request.fault is not None and request.fault.fault == faults.EXPIRED:
            self.thumbnails.expire(thumbnail_id)
        thumbnail = self.thumbnails.get(project, thumbnail_id)
        if thumbnail is None:
            # NOTE: Earth Engine's status and wording for an expired id are not
            # public. Clients only read error.message.
            raise errors.not_found(
                f"Thumbnail projects/{project}/thumbnails/{thumbnail_id} not found."
                " Thumbnail ids expire a few hours after thumbnails.create; create"
                " a new one."
            )
        data, content_type = self._call_engine("render_thumbnail", thumbnail.body)
        return Response(HTTPStatus.OK, data, content_type)

    def compute_pixels(self, request: ApiRequest) -> Response:
        body = _parse_json_object(request.body, _COMPUTE_PIXELS_FIELDS)
        data, content_type = self._call_engine("compute_pixels", body)
        return Response(HTTPStatus.OK, data, content_type)

    def compute_value(self, request: ApiRequest) -> Response:
        body = _parse_json_object(request.body, _COMPUTE_VALUE_FIELDS)
        result = self._call_engine("compute_value", body)
        return json_response({"result": result})

    def get_config(self, request: ApiRequest) -> Response:
        project = request.params["project"]
        registered = self.config.project_state != "not-registered"
        # NOTE: the config shape differs between API versions. This is the
        # v1beta one, whose registrationState is the field a start-up check reads.
        config = {
            "name": f"projects/{project}/config",
            "registrationState": (
                "REGISTERED_NOT_COMMERCIALLY" if registered else "NOT_REGISTERED"
            ),
        }
        return json_response(config)

    def get_health(self, request: ApiRequest) -> Response:
        return json_response({"status": "ok"})

    def get_stats(self, request: ApiRequest) -> Response:
        return json_response(
            {**self.stats.to_json(), "thumbnails": len(self.thumbnails)}
        )

    def list_faults(self, request: ApiRequest) -> Response:
        return json_response({"faults": self.faults.pending()})

    def add_fault(self, request: ApiRequest) -> Response:
        fault = faults.parse_fault_request(_parse_json(request.body))
        self.faults.add(fault)
        return json_response(fault.to_json())

    def clear_faults(self, request: ApiRequest) -> Response:
        self.faults.clear()
        return json_response({"faults": []})

    def reset_state(self, request: ApiRequest) -> Response:
        self.reset()
        return json_response({"status": "reset"})


def _route(
    http_method: str,
    pattern: str,
    api_method: str,
    handler: Handler,
    authenticated: bool = True,
) -> Route:
    return Route(
        http_method, re.compile(f"^{pattern}$"), api_method, handler, authenticated
    )


ROUTES = (
    _route(
        "GET",
        r"/\$discovery/rest",
        "discovery",
        StandinServer.get_discovery,
        authenticated=False,
    ),
    _route(
        "GET",
        _PROJECT + "/algorithms",
        "algorithms.list",
        StandinServer.list_algorithms,
    ),
    _route(
        "POST",
        _PROJECT + "/thumbnails",
        "thumbnails.create",
        StandinServer.create_thumbnail,
    ),
    _route(
        "POST",
        _PROJECT + "/locations/(?P<location>[^/]+)/thumbnails",
        "thumbnails.create",
        StandinServer.create_thumbnail,
    ),
    _route(
        "GET",
        _PROJECT + "/thumbnails/(?P<thumbnail>[^/:]+):getPixels",
        "thumbnails.getPixels",
        StandinServer.get_thumbnail_pixels,
        authenticated=False,
    ),
    _route(
        "POST",
        _PROJECT + "/image:computePixels",
        "image.computePixels",
        StandinServer.compute_pixels,
    ),
    _route(
        "POST",
        _PROJECT + "/value:compute",
        "value.compute",
        StandinServer.compute_value,
    ),
    _route("GET", _PROJECT + "/config", "projects.getConfig", StandinServer.get_config),
    _route(
        "GET",
        "/_standin/health",
        "standin.health",
        StandinServer.get_health,
        authenticated=False,
    ),
    _route(
        "GET",
        "/_standin/stats",
        "standin.stats",
        StandinServer.get_stats,
        authenticated=False,
    ),
    _route(
        "GET",
        "/_standin/faults",
        "standin.faults",
        StandinServer.list_faults,
        authenticated=False,
    ),
    _route(
        "POST",
        "/_standin/faults",
        "standin.faults",
        StandinServer.add_fault,
        authenticated=False,
    ),
    _route(
        "DELETE",
        "/_standin/faults",
        "standin.faults",
        StandinServer.clear_faults,
        authenticated=False,
    ),
    _route(
        "POST",
        "/_standin/reset",
        "standin.reset",
        StandinServer.reset_state,
        authenticated=False,
    ),
)
# Statistics count the Earth Engine API, not the stand-in's own controls.
_API_METHODS = frozenset(
    route.api_method for route in ROUTES if not route.api_method.startswith("standin.")
)


@functools.cache
def _client_documents() -> tuple[dict[str, dict[str, Any]], bytes]:
    """Load the discovery documents and algorithms once per process.

    Servers only read them, so one copy serves every server in a test run.
    """
    package_data = discovery.package_test_data()
    return (
        discovery.load_discovery_documents(package_data),
        discovery.load_algorithms(package_data),
    )


def match_route(http_method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    for route in ROUTES:
        match = route.pattern.match(path)
        if match and route.http_method == http_method:
            return route, match.groupdict()
    return None


def project_number(project: str) -> str:
    """Return a stable 12-digit project number for a project id.

    Some Earth Engine messages name the project by number. A numeric id is
    already a number and is returned unchanged.
    """
    if project.isdigit():
        return project
    digest = int(hashlib.sha256(project.encode()).hexdigest(), 16)
    return str(100_000_000_000 + digest % 900_000_000_000)


def json_response(payload: object, status: int = HTTPStatus.OK) -> Response:
    return Response(status, json.dumps(payload).encode())


def error_response(error: EEError) -> Response:
    body = json.dumps(error.to_json()).encode()
    return Response(error.code, body, headers=dict(error.headers), error=error.message)


def _bearer_token(request: ApiRequest) -> str | None:
    authorization = request.headers.get("Authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    # Google APIs also take the token as the access_token system parameter.
    return request.query.get("access_token") or None


def _parse_json(body: bytes) -> object:
    if not body.strip():
        return {}
    try:
        return json.loads(body)
    except UnicodeDecodeError:
        raise errors.invalid_json("The body is not UTF-8 text.") from None
    except json.JSONDecodeError as error:
        raise errors.invalid_json(
            f"{error.msg} at line {error.lineno} column {error.colno}."
        ) from None


def _parse_json_object(body: bytes, fields: frozenset[str]) -> dict[str, Any]:
    payload = _parse_json(body)
    if not isinstance(payload, dict):
        raise errors.invalid_json("The request body must be a JSON object.")
    unknown = sorted(set(payload) - fields)
    if unknown:
        raise errors.unknown_field(unknown[0])
    return payload


def _select_fields(resource: dict[str, Any], fields: str | None) -> dict[str, Any]:
    """Apply the `fields` system parameter, at the top level only."""
    if not fields:
        return resource
    requested = {re.split(r"[.(/]", name.strip())[0] for name in fields.split(",")}
    return {key: value for key, value in resource.items() if key in requested}


class _HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    # The default backlog of 5 drops connects when 32 clients arrive at once.
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[http.server.BaseHTTPRequestHandler],
        app: StandinServer,
    ) -> None:
        self.app = app
        super().__init__(address, handler)


class RequestHandler(http.server.BaseHTTPRequestHandler):
    """HTTP/1.1 I/O for StandinServer: reads bodies, writes responses, applies
    the faults that act on the socket and logs one JSON line per request."""

    protocol_version = "HTTP/1.1"
    server_version = "standin"
    # Headers and body go out in separate writes; with Nagle's algorithm on, the body
    # of a keep-alive answer waits for the client's delayed ACK (about 40 ms).
    disable_nagle_algorithm = True
    server: _HTTPServer

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug(format, *args)

    def send_error(
        self, code: int, message: str | None = None, explain: str | None = None
    ) -> None:
        """Send the error for a malformed request in Earth Engine's shape, not HTML."""
        status = (
            "UNIMPLEMENTED"
            if code == HTTPStatus.NOT_IMPLEMENTED
            else "INVALID_ARGUMENT"
        )
        error = EEError(code, status, message or HTTPStatus(code).phrase)
        self.close_connection = True
        self._send(error_response(error))

    def _dispatch(self) -> None:
        started = time.monotonic()
        app = self.server.app
        target = urlsplit(self.path)
        path = unquote(target.path)
        matched = match_route(self.command, path)
        api_method = matched[0].api_method if matched else "unknown"
        if api_method in _API_METHODS:
            app.stats.count_request(api_method)

        response, fault = self._respond(matched, path, target.query)
        # Counted before sending, so that a client that reads the statistics
        # right after this response already sees it.
        status = response.status if response else None
        if api_method in _API_METHODS:
            app.stats.count_response(api_method, status)

        if response is None:
            self._reset_connection()
        else:
            truncate = fault is not None and fault.fault == faults.TRUNCATE
            self._send(response, truncate)
        self._log_request(path, api_method, status, response, fault, started)

    def _respond(
        self, matched: tuple[Route, dict[str, str]] | None, path: str, query: str
    ) -> tuple[Response | None, faults.Fault | None]:
        try:
            body = self._read_body()
        except EEError as error:
            return error_response(error), None
        if matched is None:
            return error_response(errors.method_not_found()), None

        route, params = matched
        request = ApiRequest(
            http_method=self.command,
            path=path,
            query=dict(parse_qsl(query, keep_blank_values=True)),
            headers=self.headers,
            body=body,
            params=params,
        )
        return self.server.app.handle(route, request)

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            raise errors.length_required()
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            if self.command == "POST":
                raise errors.length_required()
            return b""
        try:
            length = int(length_header)
        except ValueError:
            self.close_connection = True
            raise errors.invalid_argument(
                f"Invalid Content-Length header {length_header!r}."
            ) from None

        if length > errors.MAX_REQUEST_BYTES:
            self._drop_body(length)
            raise errors.payload_too_large()
        return self.rfile.read(length)

    def _drop_body(self, length: int) -> None:
        if length > _MAX_DRAIN_BYTES:
            self.close_connection = True
            return
        remaining = length
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, _WRITE_CHUNK_BYTES))
            if not chunk:
                break
            remaining -= len(chunk)

    def _send(self, response: Response, truncate: bool = False) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        if self.close_connection or truncate:
            self.send_header("Connection", "close")
        self.end_headers()

        # A truncated response keeps the full Content-Length, so the client
        # notices the missing half when the connection closes.
        body = response.body[: len(response.body) // 2] if truncate else response.body
        for start in range(0, len(body), _WRITE_CHUNK_BYTES):
            self.wfile.write(body[start : start + _WRITE_CHUNK_BYTES])

    def _reset_connection(self) -> None:
        connection: socket.socket = self.connection
        faults.reset_connection(connection)
        self.close_connection = True
        # Closing here, before socketserver's shutdown(SHUT_WR), makes the client
        # see an RST with no FIN before it. The socket only really closes once
        # the reader that shares its descriptor is closed too.
        self.rfile.close()
        connection.close()

    def _log_request(
        self,
        path: str,
        api_method: str,
        status: int | None,
        response: Response | None,
        fault: faults.Fault | None,
        started: float,
    ) -> None:
        # The path leaves out the query, which may carry an API key.
        fields = {
            "http_method": self.command,
            "path": path,
            "api_method": api_method,
            "status": status,
            "response_bytes": len(response.body) if response else 0,
            "latency_ms": round((time.monotonic() - started) * 1000, 1),
            "fault": fault.fault if fault else None,
            "error": response.error if response else None,
        }
        logger.info(
            "%s %s %s",
            self.command,
            path,
            status or "reset",
            extra={"request_log": fields},
        )
