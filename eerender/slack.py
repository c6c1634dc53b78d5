"""Slack messages of the ``/render`` command and their delivery to ``response_url``.

Slack shows a slash command's HTTP reply when it arrives within 3 s. Later messages go
to the command's ``response_url``, which takes JSON messages for 30 minutes after the
command. Messages use Block Kit: the image is an ``image`` block whose URL is the signed
URL of the stored copy, which Slack downloads to show it.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import requests

from eerender.config import Settings
from eerender.errors import (
    InvalidRequest,
    Upstream,
    UpstreamError,
    UpstreamUnavailable,
)
from eerender.retry import RETRYABLE_STATUS_CODES

logger = logging.getLogger(__name__)

SERVICE = "slack"
POST_TIMEOUT = (5.0, 10.0)
# Block Kit limits: section text 3000 characters, image_url 3000 characters.
MAX_TEXT_CHARACTERS = 3000
MAX_IMAGE_URL_CHARACTERS = 3000


def ephemeral(text: str) -> dict[str, Any]:
    """Return a reply only the user who typed the command sees."""
    return {"response_type": "ephemeral", "text": text[:MAX_TEXT_CHARACTERS]}


def image_message(command: str, signed_url: str | None, uri: str) -> dict[str, Any]:
    """Return the channel message that shows a finished render."""
    title = f"`/render {command}`"
    if not signed_url or len(signed_url) > MAX_IMAGE_URL_CHARACTERS:
        text = f"{title} is stored as {uri}, but it has no signed URL to show."
        return {"response_type": "in_channel", "text": text}
    section = {
        "type": "section",
        "text": {"type": "mrkdwn", "text": f"{title}\n<{signed_url}|Full-size image>"},
    }
    image = {"type": "image", "image_url": signed_url, "alt_text": f"/render {command}"}
    return {
        "response_type": "in_channel",
        "replace_original": False,
        "text": f"/render {command}",
        "blocks": [section, image],
    }


def failure_message(command: str, reason: str) -> dict[str, Any]:
    """Return the message that tells the user a render failed and why."""
    return ephemeral(f"`/render {command}` failed: {reason}")


def check_response_url(url: str, settings: Settings) -> None:
    """Raise InvalidRequest unless ``url`` starts with an allowed prefix.

    The function posts to this URL, so only Slack's hosts are allowed: anything else
    would let a caller aim the function's requests elsewhere.
    """
    prefixes = settings.slack_response_url_prefixes
    if not any(url.startswith(prefix) for prefix in prefixes):
        raise InvalidRequest(
            f"response_url {url[:100]!r} does not start with an allowed prefix "
            f"({', '.join(prefixes) or 'none'}); set SLACK_RESPONSE_URL_PREFIXES.",
            code="RESPONSE_URL_NOT_ALLOWED",
            field="/response_url",
        )


def post(
    session: requests.Session, url: str, message: dict[str, Any], settings: Settings
) -> None:
    """POST ``message`` to a command's ``response_url``.

    Raises:
        InvalidRequest: the URL is not allowed, or Slack rejects it (expired, used).
        UpstreamError: Slack failed or did not respond in time, which may pass.
    """
    check_response_url(url, settings)
    try:
        response = session.post(url, json=message, timeout=POST_TIMEOUT)
    except requests.RequestException as error:
        raise UpstreamUnavailable(
            "Slack's response_url could not be reached; the result will be posted "
            "again.",
            code="SLACK_UNAVAILABLE",
            upstream=Upstream(SERVICE, None, type(error).__name__),
        ) from error
    logger.info("Slack response_url -> %d", response.status_code)
    status = response.status_code
    if status == HTTPStatus.OK:
        return
    upstream = Upstream(SERVICE, status, response.text[:300])
    if status in RETRYABLE_STATUS_CODES:
        raise UpstreamError(
            f"Slack answered {status} to the result post; it will be posted again.",
            code="SLACK_UNAVAILABLE",
            upstream=upstream,
        )
    raise InvalidRequest(
        f"Slack rejected the result post with {status}: {response.text[:100]}. The "
        "response_url may have expired (it lasts 30 minutes).",
        code="SLACK_REJECTED",
        upstream=upstream,
    )
