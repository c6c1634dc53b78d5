"""What the two chat apps share: their per-instance objects, the hand-off of renders to
the Pub/Sub function, and the results that come back from it.

A render that a chat app does not finish while the user waits is published to
REQUEST_TOPIC with reply attributes (``response_url`` or ``reply_*``). The Pub/Sub
function renders it and announces the outcome on RESULTS_TOPIC with those attributes.
A push subscription on RESULTS_TOPIC delivers each announcement to ``/results`` of the
chat function, which posts the image or the error where the command came from. The
chat function is the poster, not the Pub/Sub function, so the render path contains no
Slack or Chat code, and each app's credentials stay in its own function.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import flask
import requests
from cloudevents.exceptions import GenericException as CloudEventError
from cloudevents.http import CloudEvent, from_http

from eerender import chat_auth, events, services
from eerender.chat_commands import Command
from eerender.command_claims import Claims
from eerender.config import Settings
from eerender.errors import ConfigurationError, InvalidRequest, Outcome, RenderError
from eerender.pubsub import OutgoingMessage, Publisher
from eerender.recipes import RecipeBook, book
from eerender.request import parse_render_request
from eerender.responses import error_answer

logger = logging.getLogger(__name__)

RESULTS_PATH = "/results"
APP_ATTRIBUTE = "reply_app"
COMMAND_ATTRIBUTE = "reply_command"
REQUEST_ID_ATTRIBUTE = "request_id"
# Pub/Sub attribute values are at most 1024 bytes.
MAX_ATTRIBUTE_CHARACTERS = 256
# Slack waits 3 s for its reply, so publishing a hand-off gets this long, retries
# included, which leaves time for the rest of the request.
HANDOFF_SECONDS = 1.5


@dataclass(frozen=True)
class ChatServices:
    """The objects a chat function builds once per instance."""

    settings: Settings
    book: RecipeBook
    claims: Claims
    publisher: Publisher
    session: requests.Session


_lock = threading.Lock()
_built: tuple[services.Services, ChatServices] | None = None


def get() -> ChatServices:
    """Return this instance's chat services, rebuilt whenever the shared ones are."""
    global _built
    shared = services.get()
    with _lock:
        if _built is None or _built[0] is not shared:
            _built = (shared, _build(shared))
        return _built[1]


def _build(shared: services.Services) -> ChatServices:
    from google.cloud import storage

    from eerender.records import RecordStore

    settings = shared.settings
    if not settings.render_bucket:
        raise ConfigurationError(
            "The chat apps store images and claims in RENDER_BUCKET; set it.",
            code="RENDER_BUCKET_MISSING",
        )
    client = storage.Client(project=settings.ee_project or None)
    claims = Claims(
        RecordStore(settings, client),
        client,
        settings.render_bucket,
        settings.object_prefix,
    )
    fast = dataclasses.replace(
        settings,
        ee_deadline=HANDOFF_SECONDS,
        ee_connect_timeout=min(settings.ee_connect_timeout, HANDOFF_SECONDS),
        pubsub_timeout=HANDOFF_SECONDS,
    )
    return ChatServices(
        settings=settings,
        book=book(settings),
        claims=claims,
        publisher=Publisher(fast, shared.earth_engine.session),
        session=requests.Session(),
    )


def check_renderable(command: Command, settings: Settings) -> dict[str, Any]:
    """Return the command's render request after the checks every trigger runs.

    Raises:
        InvalidRequest: for parameters the recipe does not accept.
    """
    request = command.render_request()
    parse_render_request(request, settings)
    return request


def hand_off(
    chat: ChatServices,
    request: dict[str, Any],
    request_id: str,
    reply: dict[str, str],
) -> None:
    """Publish ``request`` to REQUEST_TOPIC for the Pub/Sub function to render.

    Raises:
        ConfigurationError: ``REQUEST_TOPIC_MISSING``, or a topic the function may not
            publish to.
        UpstreamError: Pub/Sub did not accept the message in time.
    """
    topic = chat.settings.request_topic
    if not topic:
        raise ConfigurationError(
            "The chat apps hand renders to REQUEST_TOPIC, which is not set.",
            code="REQUEST_TOPIC_MISSING",
        )
    attributes = {
        **{name: value[:MAX_ATTRIBUTE_CHARACTERS] for name, value in reply.items()},
        REQUEST_ID_ATTRIBUTE: request_id,
    }
    chat.publisher.publish(topic, [OutgoingMessage.from_json(request, attributes)])
    logger.info(
        "Handed render %s to %s",
        request_id,
        topic,
        extra={"json_fields": {"request_id": request_id}},
    )


@dataclass(frozen=True)
class Result:
    """An announced outcome: the Pub/Sub attributes and the JSON document."""

    attributes: dict[str, str]
    document: dict[str, Any]

    @property
    def request_id(self) -> str:
        return self.attributes.get(REQUEST_ID_ATTRIBUTE, "")

    @property
    def rendered(self) -> bool:
        return self.attributes.get("status") == "rendered"

    @property
    def app(self) -> str:
        return self.attributes.get(APP_ATTRIBUTE, "")

    @property
    def command(self) -> str:
        return self.attributes.get(COMMAND_ATTRIBUTE, "")

    def error_message(self) -> str:
        error = self.document.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        return "The render failed without a message."


def read_result(request: flask.Request, settings: Settings) -> Result:
    """Verify and decode a result pushed to ``/results``.

    Eventarc sends a CloudEvent, and a plain push subscription sends
    ``{"message", "subscription"}``; both are read.

    Raises:
        Unauthenticated: the push carries no valid ID token of the push account.
        InvalidRequest: the body is not a Pub/Sub message with JSON data.
    """
    authorization = request.headers.get("Authorization")
    if authorization or not chat_auth.allow_unsigned_push(
        settings, request.remote_addr
    ):
        chat_auth.push_verifier(settings).verify(authorization)
    event = _cloud_event(request)
    message = events.pubsub_message(event)
    document = events.decode_message_data(message.data, settings.max_body_bytes)
    if not isinstance(document, dict):
        raise InvalidRequest(
            "The result message data is not a JSON object.", code="INVALID_EVENT"
        )
    return Result(message.attributes, document)


def _cloud_event(request: flask.Request) -> CloudEvent:
    body = request.get_data()
    try:
        event: CloudEvent = from_http(dict(request.headers), body)
        return event
    except CloudEventError:
        pass
    try:
        envelope = json.loads(body)
    except ValueError as error:
        raise InvalidRequest(
            "The push body is not JSON.", code="INVALID_EVENT"
        ) from error
    if not isinstance(envelope, dict) or "message" not in envelope:
        raise InvalidRequest(
            'The push body is not {"message": ..., "subscription": ...}.',
            code="INVALID_EVENT",
        )
    message = envelope["message"] if isinstance(envelope["message"], dict) else {}
    attributes = {
        "type": events.PUBSUB_PUBLISHED,
        "source": str(envelope.get("subscription") or "pubsub"),
        "id": str(message.get("messageId") or message.get("message_id") or "push"),
    }
    return CloudEvent(attributes, envelope)


def deliver(
    request: flask.Request,
    settings: Settings,
    app: str,
    post: Callable[[Result, ChatServices], None],
) -> flask.Response:
    """Post one pushed result of ``app`` once; 2xx acknowledges, 5xx redelivers.

    A result for the other app, an unreadable message, or a post that can never
    succeed (an expired URL, a rejected message) is acknowledged and logged. A post
    that failed in a way that may pass releases its claim and is raised.
    """
    try:
        result = read_result(request, settings)
    except InvalidRequest as error:
        logger.warning("Unreadable result push dropped: %s", error.message)
        return flask.Response(status=HTTPStatus.NO_CONTENT)
    if result.app != app:
        return flask.Response(status=HTTPStatus.NO_CONTENT)

    chat = get()
    if not _claim_reply(chat, result):
        return flask.Response(status=HTTPStatus.NO_CONTENT)
    # NOTE: an instance that stops between the claim and the post loses that post,
    # because a redelivery finds the claim. Posts are at most once, never twice.
    try:
        post(result, chat)
    except RenderError as error:
        if error.outcome is not Outcome.PERMANENT:
            chat.claims.release_reply(result.request_id)
            raise
        logger.warning(
            "Result %s could not be posted: %s",
            result.request_id,
            error.message,
            extra={"json_fields": {"app": app, "code": error.code}},
        )
    return flask.Response(status=HTTPStatus.NO_CONTENT)


def _claim_reply(chat: ChatServices, result: Result) -> bool:
    """Claim the post of ``result``; False when another delivery already posted it."""
    if not result.request_id:
        return True
    claimed = chat.claims.claim_reply(result.request_id)
    if not claimed:
        logger.info(
            "Result %s was posted before; skipping the redelivery",
            result.request_id,
            extra={"json_fields": {"request_id": result.request_id}},
        )
    return claimed


def failure_text(error: Exception) -> str:
    """Log ``error`` at the severity it deserves and return the text for the user."""
    _, _, body = error_answer(error)
    return f"Sorry, that did not work: {body['error']['message']}"


def json_response(
    body: dict[str, Any], status: int, headers: dict[str, str] | None = None
) -> flask.Response:
    response = flask.Response(
        json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json"
    )
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response
