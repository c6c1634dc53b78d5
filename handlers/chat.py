"""The Google Chat app: ``/render`` in messages, slash and app commands.

``POST /`` takes Chat's interaction events. The bearer token is verified before the
body is read; a missing, expired, forged or wrongly addressed token gets 401. A render
that finishes within CHAT_REPLY_SECONDS is the reply itself: a card with the image.
A slower one is acknowledged, handed to the Pub/Sub function, and posted later in the
same thread through the Chat API. Every failure after verification is a readable reply.

``POST /results`` takes the Pub/Sub function's result announcements for Chat.
"""

from __future__ import annotations

import concurrent.futures
import logging
from http import HTTPStatus
from typing import Any

import flask

from eerender import chat_apps, chat_auth, google_chat, logs, services
from eerender.chat_commands import (
    HELP,
    LIST,
    Command,
    help_text,
    list_text,
    parse_command,
)
from eerender.config import Settings
from eerender.errors import InvalidRequest, MethodNotAllowed, RenderError
from eerender.render import StoredRender
from eerender.request import parse_render_request
from eerender.responses import error_answer

logger = logging.getLogger(__name__)

APP = "chat"
SPACE_ATTRIBUTE = "reply_space"
THREAD_ATTRIBUTE = "reply_thread"
# Renders in flight for synchronous replies. One that outlives its reply keeps its
# worker until it ends, so the pool bounds how many can pile up per instance.
_renders = concurrent.futures.ThreadPoolExecutor(
    max_workers=8, thread_name_prefix="chat-render"
)


def handle(request: flask.Request) -> flask.Response:
    """Serve a Chat event, or a result push on ``/results``."""
    try:
        settings = services.get().settings
        logs.bind(settings.ee_project, request.headers.get("X-Cloud-Trace-Context"))
        if request.path.rstrip("/") == chat_apps.RESULTS_PATH:
            return _results(request, settings)
        return _event(request, settings)
    except Exception as error:  # failures before a reply exists become JSON answers
        status, headers, body = error_answer(error)
        return chat_apps.json_response(body, status, headers)
    finally:
        logs.clear()


def _event(request: flask.Request, settings: Settings) -> flask.Response:
    if request.method != "POST":
        raise MethodNotAllowed(
            f"Method {request.method} is not supported; Chat POSTs events.",
            value=request.method,
        )
    chat_auth.chat_verifier(settings).verify(request.headers.get("Authorization"))
    event = google_chat.parse_event(request.get_json(silent=True))
    logger.info(
        "Chat %s event in %s",
        event.type,
        event.space,
        extra={"json_fields": {"user": event.user, "message": event.message}},
    )
    if event.type == google_chat.REMOVED_FROM_SPACE:
        return chat_apps.json_response({}, HTTPStatus.OK)
    try:
        reply = _reply(event, settings)
    except Exception as error:  # a reply in the thread, never silence
        reply = google_chat.text_message(chat_apps.failure_text(error))
    return chat_apps.json_response(reply, HTTPStatus.OK)


def _reply(event: google_chat.ChatEvent, settings: Settings) -> dict[str, Any]:
    chat = chat_apps.get()
    if event.type == google_chat.ADDED_TO_SPACE and not event.text:
        return google_chat.text_message(help_text(chat.book))
    if event.type == google_chat.APP_COMMAND and not event.text:
        # A quick command carries no text; it lists the recipes.
        return google_chat.text_message(list_text(chat.book))

    command = parse_command(event.text, chat.book)
    if command.action == LIST:
        return google_chat.text_message(list_text(chat.book))
    if command.action == HELP:
        return google_chat.text_message(help_text(chat.book, command.recipe))
    return _render(event, command, settings)


def _render(
    event: google_chat.ChatEvent, command: Command, settings: Settings
) -> dict[str, Any]:
    chat = chat_apps.get()
    request = chat_apps.check_renderable(command, settings)
    request_id = "chat-" + command.key(APP, event.message or event.space)[:40]
    future = _renders.submit(_store, request, settings)
    try:
        stored = future.result(timeout=settings.chat_reply_seconds)
    except concurrent.futures.TimeoutError:
        # NOTE: the render left running here may finish too; both store the same
        # object, and only the hand-off's result is posted.
        reply = {
            SPACE_ATTRIBUTE: event.space,
            THREAD_ATTRIBUTE: event.thread or "",
            chat_apps.APP_ATTRIBUTE: APP,
            chat_apps.COMMAND_ATTRIBUTE: command.describe(),
        }
        chat_apps.hand_off(chat, request, request_id, reply)
        return google_chat.text_message(
            f"Rendering `/render {command.describe()}` takes a little longer; the "
            "image will be posted in this thread."
        )
    if not stored.signed_url:
        return google_chat.text_message(
            f"`/render {command.describe()}` is stored as {stored.stored.uri}, but "
            "signing is off, so it cannot be shown; set SIGNED_URL_SERVICE_ACCOUNT."
        )
    return google_chat.image_card(command, stored.signed_url)


def _store(request: dict[str, Any], settings: Settings) -> StoredRender:
    return services.get().renderer.store(parse_render_request(request, settings))


def _results(request: flask.Request, settings: Settings) -> flask.Response:
    return chat_apps.deliver(request, settings, APP, _post_result)


def _post_result(result: chat_apps.Result, chat: chat_apps.ChatServices) -> None:
    space = result.attributes.get(SPACE_ATTRIBUTE)
    if not space:
        raise InvalidRequest(
            "The result names no space to post in.", code="INVALID_EVENT"
        )
    thread = result.attributes.get(THREAD_ATTRIBUTE) or None
    message = _result_message(result, chat)
    _chat_api(chat.settings).create_message(space, thread, message, result.request_id)


def _result_message(
    result: chat_apps.Result, chat: chat_apps.ChatServices
) -> dict[str, Any]:
    if not result.rendered:
        return google_chat.failure_text(result.command, result.error_message())
    signed_url = result.document.get("signed_url")
    if not isinstance(signed_url, str):
        return google_chat.text_message(
            f"`/render {result.command}` is stored as {result.document.get('uri')}, "
            "but signing is off, so it cannot be shown."
        )
    try:
        command = parse_command(result.command, chat.book)
    except RenderError:
        # The recipes changed since the command was given; show the image alone.
        return google_chat.text_message(f"/render {result.command}\n{signed_url}")
    return google_chat.image_card(command, signed_url)


_api: tuple[Settings, google_chat.ChatApi] | None = None


def _chat_api(settings: Settings) -> google_chat.ChatApi:
    """Return the Chat API client, built once per settings on first use."""
    global _api
    if _api is None or _api[0] is not settings:
        _api = (settings, google_chat.ChatApi(settings))
    return _api[1]
