"""A local stand-in for the IAM Credentials API's signBlob, for signed URLs of renders.

It signs with an RSA key made at start-up, the way Google signs with a service account's
Google-managed key, and records each payload so tests can check what was signed. It
accepts any bearer token and never leaves 127.0.0.1.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

_SIGN_PATH = re.compile(r"^/v1/projects/-/serviceAccounts/([^/:]+):signBlob$")


class IamStandin:
    """Runs the signBlob stand-in on a thread; use as a context manager."""

    def __init__(self, port: int = 0) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.payloads: list[tuple[str, bytes]] = []
        self.failures: list[int] = []
        self.requests = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}"

    def __enter__(self) -> IamStandin:
        self._thread.start()
        return self

    def __exit__(self, *args: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fail_next(self, status: int, count: int = 1) -> None:
        """Answer the next ``count`` requests with ``status`` instead of signing."""
        self.failures.extend([status] * count)

    def sign(self, email: str, payload: bytes) -> bytes:
        self.payloads.append((email, payload))
        return self.key.sign(payload, padding.PKCS1v15(), hashes.SHA256())

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                standin.requests += 1
                if standin.failures:
                    status = standin.failures.pop(0)
                    self._answer(HTTPStatus(status), {"error": {"code": status}})
                    return
                match = _SIGN_PATH.match(self.path.split("?")[0])
                if not match or not self.headers.get("Authorization", "").startswith(
                    "Bearer "
                ):
                    self._answer(HTTPStatus.FORBIDDEN, {"error": {"code": 403}})
                    return
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length))
                payload = base64.b64decode(body["payload"])
                signature = standin.sign(match.group(1), payload)
                self._answer(
                    HTTPStatus.OK,
                    {
                        "keyId": "local",
                        "signedBlob": base64.b64encode(signature).decode(),
                    },
                )

            def _answer(self, status: HTTPStatus, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the tests read payloads, not access logs

        return Handler
