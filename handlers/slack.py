"""The Slack slash command: verify, check, hand the render to Pub/Sub, acknowledge.

``POST /`` takes the command as Slack sends it (``application/x-www-form-urlencoded``
with ``text``, ``response_url``, ``user_id``, ...). The signature is verified on the raw
body before anything is parsed. ``list`` and ``help`` are answered at once. A render is
checked, claimed against repeats, published to REQUEST_TOPIC and acknowledged with an
ephemeral message, all well inside Slack's 3 s, because no pixels are made here.

``POST /results`` takes the Pub/Sub function's result announcements and posts the image
(or the error) to the command's ``response_url``.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

import flask

from eerender import chat_apps, chat_auth, logs, services, slack
from eerender.chat_commands import HELP, LIST, help_text, list_text, parse_command
from eerender.config import Settings
from eerender.errors import (
    InvalidRequest,
    MethodNotAllowed,
    PayloadTooLarge,
    RenderError,
)
from eerender.responses import error_answer

logger = logging.getLogger(__name__)

APP = "slack"
RESPONSE_URL_ATTRIBUTE = "response_url"
# Slash command bodies are a few hundred bytes; the text alone is at most 4000.
MAX_BODY_BYTES = 64 * 1024


def handle(request: flask.Request) -> flask.Response:
    """Serve a slash command, or a result push on ``/results``."""
    try:
        settings = services.get().settings
        logs.bind(settings.ee_project, request.headers.get("X-Cloud-Trace-Context"))
        if request.path.rstrip("/") == chat_apps.RESULTS_PATH:
            return _results(request, settings)
        return _command(request, settings)
    except Exception as error:  # every failure before the reply becomes a JSON answer
        status, headers, body = error_answer(error)
        return chat_apps.json_response(body, status, headers)
    finally:
        logs.clear()


def _command(request: flask.Request, settings: Settings) -> flask.Response:
    if request.method != "POST":
        raise MethodNotAllowed(
            f"Method {request.method} is not supported; Slack POSTs commands.",
            value=request.method,
        )
    body = _raw_body(request)
    chat_auth.verify_slack(body, dict(request.headers), settings.slack_signing_secret)

    form = {
        name: values[0]
        for name, values in parse_qs(body.decode("utf-8", "replace")).items()
    }
    if form.get("ssl_check"):
        return flask.Response(status=HTTPStatus.OK)
    retry = request.headers.get("X-Slack-Retry-Num")
    logger.info(
        "Slack command from %s in %s",
        form.get("user_id"),
        form.get("channel_id"),
        extra={"json_fields": {"team_id": form.get("team_id"), "retry": retry}},
    )
    try:
        reply = _reply(form, settings)
    except Exception as error:  # Slack shows only 200 replies, so failures are text
        reply = slack.ephemeral(chat_apps.failure_text(error))
    return chat_apps.json_response(reply, HTTPStatus.OK)


def _raw_body(request: flask.Request) -> bytes:
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise PayloadTooLarge(
            f"The body is {request.content_length} bytes; slash commands are at most "
            f"{MAX_BODY_BYTES}.",
            limit=MAX_BODY_BYTES,
        )
    body = request.stream.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge(
            f"The body is over {MAX_BODY_BYTES} bytes.", limit=MAX_BODY_BYTES
        )
    return body


def _reply(form: dict[str, str], settings: Settings) -> dict[str, Any]:
    chat = chat_apps.get()
    command = parse_command(form.get("text", ""), chat.book)
    if command.action == LIST:
        return slack.ephemeral(list_text(chat.book))
    if command.action == HELP:
        return slack.ephemeral(help_text(chat.book, command.recipe))

    request = chat_apps.check_renderable(command, settings)
    response_url = form.get("response_url", "")
    slack.check_response_url(response_url, settings)
    scope = (
        form.get("team_id", ""),
        form.get("channel_id", ""),
        form.get("user_id", ""),
    )
    key = command.key(APP, *scope)
    claim = chat.claims.claim_command(
        key,
        settings.command_repeat_seconds,
        {"app": APP, "command": command.describe()},
    )
    if claim.is_repeat:
        logger.info("Repeated command %s; no second render", claim.request_id)
        return slack.ephemeral(
            f"`/render {command.describe()}` is already being rendered for you; its "
            "image is posted once, here."
        )

    reply = {
        RESPONSE_URL_ATTRIBUTE: response_url,
        chat_apps.APP_ATTRIBUTE: APP,
        chat_apps.COMMAND_ATTRIBUTE: command.describe(),
    }
    try:
        chat_apps.hand_off(chat, request, claim.request_id, reply)
    except RenderError:
        chat.claims.release_command(key, claim.request_id)
        raise
    return slack.ephemeral(
        f"Rendering `/render {command.describe()}`... the image will be posted here."
    )


def _results(request: flask.Request, settings: Settings) -> flask.Response:
    return chat_apps.deliver(request, settings, APP, _post_result)


def _post_result(result: chat_apps.Result, chat: chat_apps.ChatServices) -> None:
    url = result.attributes.get(RESPONSE_URL_ATTRIBUTE)
    if not url:
        raise InvalidRequest(
            "The result has no response_url to post to.", code="INVALID_EVENT"
        )
    if result.rendered:
        message = slack.image_message(
            result.command,
            result.document.get("signed_url"),
            str(result.document.get("uri", "")),
        )
    else:
        message = slack.failure_message(result.command, result.error_message())
    slack.post(chat.session, url, message, chat.settings)
