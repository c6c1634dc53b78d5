"""A fault-injecting HTTP proxy on 127.0.0.1 for the services without fault control.

It forwards every request to one upstream (fake-gcs-server, or the signBlob
stand-in) and rewrites upstream URLs in ``Location`` headers back to itself, so the
resumable-upload URL that Cloud Storage hands out keeps going through the proxy.
Queued faults apply to the next ``count`` requests whose method and path match:

- ``429``, ``500``, ``503``: respond with that status and a Google-style JSON error,
  and do not forward the request;
- ``reset``: close the connection with a TCP RST and do not forward;
- ``stall``: forward, then hold the response for ``delay`` seconds, so the client
  times out after the upstream has acted;
- ``truncate``: forward, then send the full Content-Length but half of the body and
  close.
"""

from __future__ import annotations

import http.client
import json
import socket
import struct
import threading
import time
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

ERROR_STATUSES = {"429": 429, "500": 500, "503": 503}
FAULT_KINDS = (*ERROR_STATUSES, "reset", "stall", "truncate")
UPSTREAM_TIMEOUT = 60
# Headers that describe one connection, not the message, so they are not forwarded.
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"}
)


@dataclass
class Fault:
    """A failure for the next ``count`` requests that match ``method`` and ``path``."""

    kind: str
    count: int = 1
    method: str = ""
    path_prefix: str = ""
    delay: float = 3.0

    def matches(self, method: str, path: str) -> bool:
        method_matches = not self.method or self.method == method
        return method_matches and path.startswith(self.path_prefix)


@dataclass(frozen=True)
class Seen:
    """One request the proxy received, and the fault applied to it."""

    method: str
    path: str
    fault: str | None


class FaultProxy:
    """Runs the proxy on a thread; use as a context manager."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.seen: list[Seen] = []
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(self))
        self._server.daemon_threads = True
        # A short poll interval keeps shutdown() quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def add_fault(self, kind: str, **options: Any) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; expected one of {FAULT_KINDS}")
        with self._lock:
            self._faults.append(Fault(kind, **options))

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self.seen.clear()

    def take_fault(self, method: str, path: str) -> Fault | None:
        """Use up one count of the oldest matching fault, and record the request."""
        with self._lock:
            fault = next((f for f in self._faults if f.matches(method, path)), None)
            if fault is not None:
                fault.count -= 1
                if fault.count <= 0:
                    self._faults.remove(fault)
            self.seen.append(Seen(method, path, fault.kind if fault else None))
            return fault

    def faults_applied(self) -> int:
        with self._lock:
            return sum(1 for request in self.seen if request.fault)

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler_class(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._handle()

        def do_POST(self) -> None:
            self._handle()

        def do_PUT(self) -> None:
            self._handle()

        def do_PATCH(self) -> None:
            self._handle()

        def do_DELETE(self) -> None:
            self._handle()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # tests read FaultProxy.seen instead

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            fault = proxy.take_fault(self.command, self.path)
            kind = fault.kind if fault else None

            if kind in ERROR_STATUSES:
                self._send_error(ERROR_STATUSES[kind])
                return
            if kind == "reset":
                self._reset()
                return

            status, headers, data = self._forward(body)
            if fault is not None and kind == "stall":
                time.sleep(fault.delay)
            self._send(status, headers, data, truncate=kind == "truncate")

        def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
            target = urlsplit(proxy.upstream)
            connection = http.client.HTTPConnection(
                target.hostname or "127.0.0.1", target.port, timeout=UPSTREAM_TIMEOUT
            )
            try:
                headers = {
                    name: value
                    for name, value in self.headers.items()
                    if name.lower() not in HOP_BY_HOP and name.lower() != "host"
                }
                connection.request(self.command, self.path, body=body, headers=headers)
                response = connection.getresponse()
                data = response.read()
                return response.status, response.getheaders(), data
            finally:
                connection.close()

        def _send(
            self,
            status: int,
            headers: list[tuple[str, str]],
            data: bytes,
            truncate: bool,
        ) -> None:
            self.send_response(status)
            for name, value in headers:
                lowered = name.lower()
                if lowered in HOP_BY_HOP or lowered == "content-length":
                    continue
                if lowered == "location":
                    value = value.replace(proxy.upstream, proxy.url)
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            if truncate:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(data[: len(data) // 2] if truncate else data)

        def _send_error(self, status: int) -> None:
            phrase = HTTPStatus(status).phrase
            body = json.dumps(
                {"error": {"code": status, "message": f"injected {phrase}"}}
            ).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            if status == HTTPStatus.TOO_MANY_REQUESTS:
                self.send_header("Retry-After", "1")
            self.end_headers()
            self.wfile.write(body)

        def _reset(self) -> None:
            # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
            linger = struct.pack("ii", 1, 0)
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
            self.close_connection = True
            self.rfile.close()
            self.connection.close()

    return Handler
