"""The chat functions under test, with every service they call on 127.0.0.1.

Slack and Chat requests are built as those services send them and signed with a secret
and keys made here. The Pub/Sub stand-in records what the functions publish without
pushing it, so each test moves a message to the next function itself and can look at
the state in between: the acknowledgement comes back before anything renders.
"""

from __future__ import annotations

import base64
import json
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from flask.testing import FlaskClient
from functions_framework import create_app
from werkzeug.test import TestResponse

from eerender import services
from eerender.recipes import DEFAULT_DIRECTORY
from local import stack
from local.chat_standin import (
    ChatStandin,
    certificate_pem,
    make_key,
    sign_token,
)
from local.chat_standin import slack_headers as signed_slack_headers
from local.iam_standin import IamStandin
from local.pubsub_standin import PubSubStandin
from tests.events.conftest import pubsub_server
from tests.events.eventarc import PUBSUB_TYPE, post_binary

__all__ = ["pubsub_server"]

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
PROJECT_NUMBER = "123456789012"
PUSH_AUDIENCE = "https://chat-fn.example.run.app/results"
PUSH_ACCOUNT = "results-push@local-project.iam.gserviceaccount.com"
SIGNER = "chat-fn@local-project.iam.gserviceaccount.com"
KEY_ID = "test-key-1"
CHAT_ISSUER = "chat@system.gserviceaccount.com"
REQUESTS = stack.REQUEST_TOPIC
RESULTS = stack.RESULTS_TOPIC

# A recipe whose asset does not exist, for permanent Earth Engine failures.
MISSING_ASSET_RECIPE = {
    "name": "missing",
    "description": "An asset that does not exist (users/nobody/missing).",
    "parameters": {},
    "expression": {
        "result": "0",
        "values": {
            "0": {
                "functionInvocationValue": {
                    "functionName": "Image.load",
                    "arguments": {"id": {"constantValue": "users/nobody/missing"}},
                }
            }
        },
    },
    "render": {"region": [0, 0, 10, 10], "dimensions": 32, "format": "png"},
}


class CertServer:
    """Serves {key id: PEM} for keys this test suite made, like Google's endpoints."""

    def __init__(self) -> None:
        self.key = make_key()
        self.certificates = {KEY_ID: certificate_pem(self.key)}
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.fetches = 0
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/certs"

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def token(
        self,
        claims: dict[str, Any],
        key: rsa.RSAPrivateKey | None = None,
        lifetime: int = 3600,
        key_id: str = KEY_ID,
    ) -> str:
        return sign_token(key or self.key, key_id, claims, lifetime)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
                server.fetches += 1
                data = json.dumps(server.certificates).encode()
                self.send_response(HTTPStatus.OK)
                self.send_header("Content-Type", "application/json")
                self.send_header("Cache-Control", "public, max-age=3600")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture(scope="session")
def certs() -> Iterator[CertServer]:
    server = CertServer()
    yield server
    server.close()


@pytest.fixture(scope="session")
def chat_standin() -> Iterator[ChatStandin]:
    standin = ChatStandin()
    standin.start()
    yield standin
    standin.close()


@pytest.fixture(scope="session")
def iam() -> Iterator[IamStandin]:
    with IamStandin() as standin:
        yield standin


@pytest.fixture(scope="session")
def recipe_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped recipes plus one that fails on Earth Engine."""
    folder = tmp_path_factory.mktemp("recipes")
    for path in DEFAULT_DIRECTORY.glob("*.json"):
        shutil.copy(path, folder / path.name)
    (folder / "missing.json").write_text(json.dumps(MISSING_ASSET_RECIPE))
    return folder


@dataclass
class ChatStack:
    """The services around the chat functions, and helpers to move messages on."""

    ee_url: str
    gcs_url: str
    pubsub: PubSubStandin
    chat: ChatStandin
    certs: CertServer
    prefix: str
    make_client: Callable[[str], FlaskClient]

    def published(self) -> list[dict[str, Any]]:
        return self.pubsub.messages(REQUESTS)

    def results(self) -> list[dict[str, Any]]:
        return self.pubsub.messages(RESULTS)

    def slack_posts(self) -> list[dict[str, Any]]:
        return self.chat.posts()["slack"]

    def chat_posts(self) -> list[dict[str, Any]]:
        return self.chat.posts()["chat"]

    def ee_calls(self, method: str = "thumbnails.create") -> int:
        answer = requests.get(f"{self.ee_url}/_standin/stats", timeout=10)
        answer.raise_for_status()
        responses = answer.json().get("responses", {}).get(method, {})
        return sum(int(count) for count in responses.values())

    def add_fault(self, **fault: Any) -> None:
        requests.post(
            f"{self.ee_url}/_standin/faults", json=fault, timeout=10
        ).raise_for_status()

    def render_published(self, index: int = -1) -> TestResponse:
        """Push a published request to the Pub/Sub function, as Eventarc would."""
        message = self.published()[index]
        answer = post_binary(self.make_client("render_pubsub"), _event_data(message))
        assert answer.status_code == 200, answer.get_data(as_text=True)
        return answer

    def push_result(
        self, client: FlaskClient, index: int = -1, token: str | None = None
    ) -> TestResponse:
        """Push an announced result to a chat function's /results.

        The push carries an ID token of the push account unless ``token`` is given;
        an empty ``token`` sends no Authorization header.
        """
        message = self.results()[index]
        if token is None:
            token = self.push_token()
        headers = {
            "ce-id": message["messageId"],
            "ce-specversion": "1.0",
            "ce-type": PUBSUB_TYPE,
            "ce-source": f"//pubsub.googleapis.com/{message['topic']}",
        }
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return client.post(
            "/results",
            headers=headers,
            data=json.dumps(_event_data(message)),
            content_type="application/json",
        )

    def push_token(self, **changes: Any) -> str:
        claims = {
            "iss": "https://accounts.google.com",
            "aud": PUSH_AUDIENCE,
            "email": PUSH_ACCOUNT,
            "email_verified": True,
            "sub": "1234567890",
            **changes,
        }
        return self.certs.token(claims)


def _event_data(message: dict[str, Any]) -> dict[str, Any]:
    return {
        "message": {
            "data": message["data"],
            "attributes": message["attributes"],
            "messageId": message["messageId"],
            "publishTime": message["publishTime"],
        },
        "subscription": "projects/local-project/subscriptions/push",
    }


@pytest.fixture
def chat_stack(
    ee_server: str,
    gcs_server: str,
    pubsub_server: PubSubStandin,
    chat_standin: ChatStandin,
    certs: CertServer,
    iam: IamStandin,
    recipe_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[ChatStack]:
    """The functions' environment with a fresh prefix, and every stand-in reset."""
    requests.post(f"{ee_server}/_standin/reset", timeout=10).raise_for_status()
    pubsub_server.reset()
    chat_standin.reset()
    prefix = f"chat-{uuid.uuid4().hex[:10]}/"
    env = stack.function_env(
        ee_server,
        gcs_server,
        **stack.event_env(pubsub_server.url),
        RENDER_OBJECT_PREFIX=prefix,
        RECIPE_DIR=str(recipe_dir),
        RECIPE_VARIANT="standin",
        SIGNED_URL_SERVICE_ACCOUNT=SIGNER,
        IAM_CREDENTIALS_URL=iam.url,
        CHAT_AUDIENCE=PROJECT_NUMBER,
        CHAT_CERTS_URL=certs.url,
        CHAT_API_URL=chat_standin.url,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_RESPONSE_URL_PREFIXES=f"{chat_standin.url}/slack/",
        PUSH_AUDIENCE=PUSH_AUDIENCE,
        PUSH_SERVICE_ACCOUNT=PUSH_ACCOUNT,
        ID_TOKEN_CERTS_URL=certs.url,
    )
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    services.reset()
    clients: dict[str, FlaskClient] = {}

    def make_client(target: str) -> FlaskClient:
        if target not in clients:
            app = create_app(target, str(stack.ROOT / "main.py"))
            clients[target] = app.test_client()
        return clients[target]

    yield ChatStack(
        ee_server,
        gcs_server,
        pubsub_server,
        chat_standin,
        certs,
        prefix,
        make_client,
    )
    requests.post(f"{ee_server}/_standin/reset", timeout=10).raise_for_status()


# --- Slack -------------------------------------------------------------------------


def slack_form(text: str, response_url: str, **changes: str) -> dict[str, str]:
    """The fields Slack posts for a slash command."""
    return {
        "token": "gIkuvaNzQIHg97ATvDxqgjtO",
        "team_id": "T0001",
        "team_domain": "example",
        "channel_id": "C2147483705",
        "channel_name": "maps",
        "user_id": "U2147483697",
        "user_name": "ana",
        "command": "/render",
        "text": text,
        "api_app_id": "A123456",
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        **changes,
    }


def slack_headers(
    body: bytes,
    timestamp: int | None = None,
    secret: str = SIGNING_SECRET,
    **extra: str,
) -> dict[str, str]:
    return {**signed_slack_headers(body, secret, timestamp), **extra}


def post_slack(
    client: FlaskClient, body: bytes, headers: dict[str, str]
) -> TestResponse:
    return client.post("/", data=body, headers=headers)


def slack_body(form: dict[str, str]) -> bytes:
    return urlencode(form).encode()


# --- Google Chat -------------------------------------------------------------------


def chat_event(
    text: str | None,
    event_type: str = "MESSAGE",
    slash: bool = True,
    message_id: str | None = None,
) -> dict[str, Any]:
    """An interaction event as Chat posts it for a message in a space's thread."""
    space = {"name": "spaces/AAAA1234", "type": "ROOM", "displayName": "Maps"}
    user = {"name": "users/1234567890", "displayName": "Ana", "type": "HUMAN"}
    event: dict[str, Any] = {
        "type": event_type,
        "eventTime": "2024-05-01T10:00:00.000000Z",
        "space": space,
        "user": user,
        "common": {"hostApp": "CHAT"},
    }
    if text is not None:
        name = message_id or uuid.uuid4().hex[:12]
        message: dict[str, Any] = {
            "name": f"spaces/AAAA1234/messages/{name}",
            "sender": user,
            "text": f"/render {text}" if slash else f"@Render {text}",
            "argumentText": f" {text}",
            "thread": {"name": "spaces/AAAA1234/threads/TTTT"},
            "space": space,
        }
        if slash:
            message["slashCommand"] = {"commandId": "1"}
        event["message"] = message
    return event


def chat_token(certs: CertServer, **changes: Any) -> str:
    claims = {"iss": CHAT_ISSUER, "aud": PROJECT_NUMBER, **changes}
    return certs.token(claims)


def post_chat(
    client: FlaskClient, event: dict[str, Any], token: str | None
) -> TestResponse:
    headers = {"User-Agent": "Google-Dynamite"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return client.post("/", json=event, headers=headers)


def published_request(message: dict[str, Any]) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(base64.b64decode(message["data"]))
    return decoded
