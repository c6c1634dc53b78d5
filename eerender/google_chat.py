"""Google Chat interaction events, the messages the app sends, and the Chat API.

Chat POSTs an event as JSON: ``type`` (``MESSAGE``, ``APP_COMMAND``,
``ADDED_TO_SPACE``, ``REMOVED_FROM_SPACE``, ...), ``space``, ``user`` and, for messages,
``message`` with ``text``, ``argumentText`` (the text after the app's mention or slash
command), ``slashCommand`` and ``thread``. A synchronous reply is a Message JSON object;
later messages are created with ``spaces.messages.create`` under the app's own identity
(scope ``chat.bot``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import google.auth
import google.auth.exceptions
import requests
from google.auth.transport.requests import AuthorizedSession
from google.oauth2.credentials import Credentials as TokenCredentials

from eerender.chat_commands import Command
from eerender.config import Settings, is_loopback
from eerender.errors import (
    ConfigurationError,
    InvalidRequest,
    RenderError,
    Upstream,
    UpstreamError,
    UpstreamUnavailable,
)
from eerender.retry import RETRYABLE_STATUS_CODES

logger = logging.getLogger(__name__)

MESSAGE = "MESSAGE"
APP_COMMAND = "APP_COMMAND"
ADDED_TO_SPACE = "ADDED_TO_SPACE"
REMOVED_FROM_SPACE = "REMOVED_FROM_SPACE"
CHAT_BOT_SCOPE = "https://www.googleapis.com/auth/chat.bot"
SERVICE = "chat"
API_TIMEOUT = (5.0, 20.0)
MAX_TEXT_CHARACTERS = 4000


@dataclass(frozen=True)
class ChatEvent:
    """The parts of an interaction event the app acts on."""

    type: str
    space: str
    user: str
    text: str = ""
    message: str | None = None
    thread: str | None = None
    command: bool = False


def parse_event(body: object) -> ChatEvent:
    """Read an interaction event.

    NOTE: this reads the Chat API's interaction event. Chat apps built as Google
    Workspace add-ons receive a different payload (``chat.messagePayload``) and
    expect a different reply, which this module does not handle yet.

    Raises:
        InvalidRequest: ``INVALID_EVENT`` when the body has no type or space.
    """
    if not isinstance(body, dict) or not isinstance(body.get("type"), str):
        raise InvalidRequest(
            "The body is not a Chat interaction event with a type.",
            code="INVALID_EVENT",
        )
    raw_message = body.get("message")
    message: dict[str, Any] = raw_message if isinstance(raw_message, dict) else {}
    space = _name(body.get("space")) or _name(message.get("space"))
    if not space:
        raise InvalidRequest(
            "The Chat event names no space.", code="INVALID_EVENT", field="/space"
        )
    text = message.get("argumentText")
    if not isinstance(text, str):
        text = message.get("text")
    if not isinstance(text, str):
        text = ""
    command = bool(message.get("slashCommand")) or body["type"] == APP_COMMAND
    return ChatEvent(
        type=body["type"],
        space=space,
        user=_name(body.get("user")),
        text=text.strip(),
        message=_name(message) or None,
        thread=_name(message.get("thread")) or None,
        command=command,
    )


def _name(resource: object) -> str:
    if isinstance(resource, dict) and isinstance(resource.get("name"), str):
        return str(resource["name"])
    return ""


def text_message(text: str) -> dict[str, Any]:
    return {"text": text[:MAX_TEXT_CHARACTERS]}


def image_card(command: Command, signed_url: str) -> dict[str, Any]:
    """Return the message that shows a render: image, recipe, parameters, link."""
    assert command.recipe is not None
    recipe = command.recipe
    shown = recipe.shown(recipe.read_params(command.params))
    parameters = [
        {"decoratedText": {"topLabel": name, "text": value}}
        for name, value in {**shown, **command.options}.items()
    ]
    link = {
        "buttonList": {
            "buttons": [
                {
                    "text": "Full-size image",
                    "onClick": {"openLink": {"url": signed_url}},
                }
            ]
        }
    }
    card = {
        "header": {"title": recipe.name, "subtitle": f"/render {command.describe()}"},
        "sections": [
            {"widgets": [{"image": {"imageUrl": signed_url, "altText": recipe.name}}]},
            {"header": "Parameters", "widgets": parameters},
            {"widgets": [link]},
        ],
    }
    return {
        "text": f"/render {command.describe()}",
        "cardsV2": [{"cardId": "render", "card": card}],
    }


def failure_text(command: str, reason: str) -> dict[str, Any]:
    return text_message(f"`/render {command}` failed: {reason}")


class ChatApi:
    """Creates messages through the Chat API as the app. Safe to share."""

    def __init__(self, settings: Settings, session: requests.Session | None = None):
        self._base = settings.chat_api_url
        self._session = session or _app_session(settings)

    def create_message(
        self,
        space: str,
        thread: str | None,
        message: dict[str, Any],
        request_id: str,
    ) -> None:
        """Post ``message`` in ``thread`` of ``space``.

        ``requestId`` makes a repeated call return the first message instead of
        creating a second one.

        Raises:
            ConfigurationError: the app may not post in the space.
            InvalidRequest: Chat rejected the message.
            UpstreamError: Chat failed or did not respond in time.
        """
        url = f"{self._base}/v1/{quote(space, safe='/')}/messages"
        params = {
            "messageReplyOption": "REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD",
            "requestId": request_id,
        }
        body = {**message, **({"thread": {"name": thread}} if thread else {})}
        try:
            response = self._session.post(
                url, params=params, json=body, timeout=API_TIMEOUT
            )
        except requests.RequestException as error:
            raise UpstreamUnavailable(
                f"The Chat API could not be reached to post in {space}; retrying.",
                code="CHAT_UNAVAILABLE",
                upstream=Upstream(SERVICE, None, type(error).__name__),
            ) from error
        logger.info(
            "Chat spaces.messages.create in %s -> %d", space, response.status_code
        )
        if response.status_code != HTTPStatus.OK:
            raise _api_error(response, space)


def _api_error(response: requests.Response, space: str) -> RenderError:
    status = response.status_code
    upstream = Upstream(SERVICE, status, response.text[:300])
    if status in (HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN):
        return ConfigurationError(
            f"The Chat API refused to post in {space} ({status}): check that the "
            "function's service account belongs to the Chat app's project and that "
            "the app is still a member of the space.",
            code="CHAT_PERMISSION",
            upstream=upstream,
        )
    if status in RETRYABLE_STATUS_CODES:
        return UpstreamError(
            f"The Chat API failed with {status}; the post will be retried.",
            code="CHAT_UNAVAILABLE",
            upstream=upstream,
        )
    return InvalidRequest(
        f"The Chat API rejected the message for {space} with {status}.",
        code="CHAT_REJECTED",
        upstream=upstream,
    )


def _app_session(settings: Settings) -> requests.Session:
    # The stand-in's fixed token may only go to a loopback Chat API, like Earth
    # Engine's.
    if settings.ee_static_token and is_loopback(settings.chat_api_url):
        credentials = TokenCredentials(token=settings.ee_static_token)  # type: ignore[no-untyped-call]
        return AuthorizedSession(credentials)  # type: ignore[no-untyped-call]
    try:
        default, _ = google.auth.default(scopes=[CHAT_BOT_SCOPE])
    except google.auth.exceptions.DefaultCredentialsError as error:
        raise ConfigurationError(
            "No Google credentials were found to post through the Chat API; deployed "
            "functions use their runtime service account.",
            code="CREDENTIALS_MISSING",
        ) from error
    return AuthorizedSession(default)  # type: ignore[no-untyped-call]
