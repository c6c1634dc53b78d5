"""A local stand-in for the chat services: it records what the product posts.

Run with ``python -m local.chat_standin --port 8090 [--relay URL ...]``. It serves:

- ``POST /slack/response/{id}``: a Slack ``response_url``. Each JSON message is recorded
  and answered ``ok``; ids listed with ``POST /_standin/expire`` answer 404
  ``expired_url``, as Slack does after 30 minutes.
- ``POST /v1/spaces/{space}/messages``: the Chat API's ``spaces.messages.create``. A
  bearer token is required. A ``requestId`` seen before returns the first message and
  records nothing, as Chat does.
- ``GET /certs``: the public certificate of a key made at start-up, in the
  ``{key id: PEM}`` form of Google's x509 metadata endpoints, and
  ``POST /_standin/token`` ``{"audience", "issuer", "email"}``: a token signed with that
  key, so a local Chat app can verify requests the way it does in production.
- ``POST /relay``: forwards the request to every ``--relay`` URL. The Pub/Sub stand-in
  pushes a topic to one URL, and the results topic has two readers.
- ``GET /_standin/posts``, ``POST /_standin/reset``, ``GET /_standin/health``.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import hmac
import json
import logging
import re
import threading
import time
from collections.abc import Sequence
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from google.auth import crypt, jwt

logger = logging.getLogger("local.chat_standin")

KEY_ID = "chat-standin-key"
TOKEN_LIFETIME = 3600
RELAY_TIMEOUT = (5.0, 120.0)
MAX_BODY_BYTES = 1024 * 1024
_SLACK_PATH = re.compile(r"/slack/response/(.+)")
_CHAT_PATH = re.compile(r"/v1/(spaces/[^/]+)/messages")


def make_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def certificate_pem(key: rsa.RSAPrivateKey, name: str = "chat-standin") -> str:
    """Return a self-signed certificate of ``key``, as Google's x509 endpoints list."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def sign_token(
    key: rsa.RSAPrivateKey, key_id: str, claims: dict[str, Any], lifetime: int
) -> str:
    """Return a JWT of ``claims`` signed RS256 with ``key``, valid ``lifetime`` s."""
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    signer = crypt.RSASigner.from_string(pem, key_id)  # type: ignore[no-untyped-call]
    now = int(time.time())
    payload = {"iat": now, "exp": now + lifetime, **claims}
    token: bytes = jwt.encode(signer, payload)  # type: ignore[no-untyped-call]
    return token.decode("ascii")


def slack_headers(
    body: bytes, secret: str, timestamp: int | None = None
) -> dict[str, str]:
    """Return the headers Slack sends with ``body``, signed v0 with ``secret``."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    base = b"v0:" + stamp.encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={digest}",
    }


class ChatStandin:
    """The stand-in's state and its HTTP server on 127.0.0.1."""

    def __init__(self, port: int = 0, relay: Sequence[str] = ()) -> None:
        self.key = make_key()
        self.certificate = certificate_pem(self.key)
        self._relay = list(relay)
        self._lock = threading.Lock()
        self._slack: list[dict[str, Any]] = []
        self._chat: list[dict[str, Any]] = []
        self._chat_by_request: dict[str, dict[str, Any]] = {}
        self._expired: set[str] = set()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), _handler_class(self))
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def response_url(self, name: str) -> str:
        return f"{self.url}/slack/response/{name}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def token(self, claims: dict[str, Any]) -> str:
        return sign_token(self.key, KEY_ID, claims, TOKEN_LIFETIME)

    def posts(self) -> dict[str, list[dict[str, Any]]]:
        with self._lock:
            return {"slack": list(self._slack), "chat": list(self._chat)}

    def reset(self) -> None:
        with self._lock:
            self._slack.clear()
            self._chat.clear()
            self._chat_by_request.clear()
            self._expired.clear()

    def expire(self, name: str) -> None:
        with self._lock:
            self._expired.add(name)

    def record_slack(self, name: str, body: Any) -> bool:
        """Record a response_url post; return False for an expired URL."""
        with self._lock:
            if name in self._expired:
                return False
            self._slack.append({"id": name, "message": body})
            return True

    def record_chat(
        self, space: str, query: dict[str, str], body: Any, authorization: str
    ) -> dict[str, Any]:
        with self._lock:
            request_id = query.get("requestId")
            if request_id and request_id in self._chat_by_request:
                return self._chat_by_request[request_id]
            message = {
                "name": f"{space}/messages/{len(self._chat) + 1}",
                "space": space,
                "query": query,
                "message": body,
                "authorization": authorization.split(" ", 1)[0],
            }
            self._chat.append(message)
            if request_id:
                self._chat_by_request[request_id] = message
            return message

    def relay(self, headers: dict[str, str], body: bytes) -> int:
        """Forward a request to every relay target; 200 only when all took it."""
        forwarded = {
            name: value
            for name, value in headers.items()
            if name.lower() not in ("host", "content-length", "connection")
        }
        status = HTTPStatus.OK
        for target in self._relay:
            try:
                answer = requests.post(
                    target, data=body, headers=forwarded, timeout=RELAY_TIMEOUT
                )
                failed = answer.status_code >= HTTPStatus.MULTIPLE_CHOICES
            except requests.RequestException:
                failed = True
            if failed:
                status = HTTPStatus.BAD_GATEWAY
        return int(status)


def _handler_class(standin: ChatStandin) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
            path = urlsplit(self.path).path
            if path == "/_standin/health":
                self._send(HTTPStatus.OK, {"status": "ok"})
            elif path == "/certs":
                self._send(HTTPStatus.OK, {KEY_ID: standin.certificate})
            elif path == "/_standin/posts":
                self._send(HTTPStatus.OK, standin.posts())
            else:
                self._send(HTTPStatus.NOT_FOUND, {"error": f"No route {path}."})

        def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
            url = urlsplit(self.path)
            raw = self._read()
            if url.path == "/relay":
                status = standin.relay(dict(self.headers.items()), raw)
                self._send(status, {})
                return
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                self._send(HTTPStatus.BAD_REQUEST, {"error": "The body is not JSON."})
                return
            self._route(url.path, parse_qs(url.query), body)

        def _route(self, path: str, query: dict[str, list[str]], body: Any) -> None:
            if match := _SLACK_PATH.fullmatch(path):
                if standin.record_slack(match.group(1), body):
                    self._send_text(HTTPStatus.OK, "ok")
                else:
                    self._send_text(HTTPStatus.NOT_FOUND, "expired_url")
            elif match := _CHAT_PATH.fullmatch(path):
                authorization = self.headers.get("Authorization", "")
                if not authorization.startswith("Bearer "):
                    self._send(HTTPStatus.UNAUTHORIZED, {"error": {"code": 401}})
                    return
                flat = {name: values[0] for name, values in query.items()}
                message = standin.record_chat(match.group(1), flat, body, authorization)
                self._send(HTTPStatus.OK, {"name": message["name"]})
            elif path == "/_standin/token":
                self._send(HTTPStatus.OK, {"token": standin.token(body)})
            elif path == "/_standin/expire":
                standin.expire(str(body.get("id")))
                self._send(HTTPStatus.OK, {})
            elif path == "/_standin/reset":
                standin.reset()
                self._send(HTTPStatus.OK, {})
            else:
                self._send(HTTPStatus.NOT_FOUND, {"error": f"No route {path}."})

        def _read(self) -> bytes:
            length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY_BYTES)
            return self.rfile.read(length)

        def _send(self, status: int, body: dict[str, Any]) -> None:
            self._send_bytes(status, json.dumps(body).encode(), "application/json")

        def _send_text(self, status: int, text: str) -> None:
            self._send_bytes(status, text.encode(), "text/plain; charset=utf-8")

        def _send_bytes(self, status: int, data: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug(format, *args)

    return Handler


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m local.chat_standin",
        description="Local stand-in for Slack's response_url and the Chat API.",
    )
    parser.add_argument("--port", type=int, default=8090, help="port on 127.0.0.1")
    parser.add_argument(
        "--relay",
        action="append",
        default=[],
        help="URL that POST /relay forwards to; repeatable",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    standin = ChatStandin(args.port, args.relay)
    logger.info("Chat stand-in listening on %s", standin.url)
    try:
        standin.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        standin.close()


if __name__ == "__main__":
    main()
