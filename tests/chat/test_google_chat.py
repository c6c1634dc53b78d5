"""The Google Chat app: token checks, card replies, slow renders and result posts."""

from __future__ import annotations

import io
import time
from typing import Any

import pytest
import requests
from PIL import Image

from eerender import services
from local.chat_standin import make_key
from tests.chat.conftest import (
    CHAT_ISSUER,
    KEY_ID,
    PROJECT_NUMBER,
    ChatStack,
    chat_event,
    chat_token,
    post_chat,
    published_request,
)

ENDPOINT_URL = "https://chat-fn.example.run.app/"


def reply_to(chat_stack: ChatStack, event: dict[str, Any]) -> dict[str, Any]:
    client = chat_stack.make_client("chat_google")
    answer = post_chat(client, event, chat_token(chat_stack.certs))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    body: dict[str, Any] = answer.get_json()
    return body


def widgets(card_message: dict[str, Any]) -> list[dict[str, Any]]:
    card = card_message["cardsV2"][0]["card"]
    return [widget for section in card["sections"] for widget in section["widgets"]]


def test_render_replies_with_card(chat_stack: ChatStack) -> None:
    reply = reply_to(chat_stack, chat_event("srtm 10,45,11,46 dimensions=96"))

    card = reply["cardsV2"][0]["card"]
    assert card["header"]["title"] == "elevation"
    found = widgets(reply)
    image_url = found[0]["image"]["imageUrl"]
    assert "X-Goog-Signature=" in image_url
    labels = {
        w["decoratedText"]["topLabel"]: w["decoratedText"]["text"] for w in found[1:-1]
    }
    assert labels["bbox"] == "10,45,11,46"
    assert labels["colors"] == "terrain"
    assert labels["dimensions"] == "96"
    button = found[-1]["buttonList"]["buttons"][0]
    assert button["onClick"]["openLink"]["url"] == image_url
    image = Image.open(io.BytesIO(requests.get(image_url, timeout=30).content))
    assert image.format == "PNG"
    assert max(image.size) == 96


def test_jpeg_format_accepted(chat_stack: ChatStack) -> None:
    reply = reply_to(chat_stack, chat_event("truecolour format=jpeg dimensions=64"))

    image_url = widgets(reply)[0]["image"]["imageUrl"]
    data = requests.get(image_url, timeout=30).content
    assert Image.open(io.BytesIO(data)).format == "JPEG"


def test_endpoint_url_audience(
    chat_stack: ChatStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHAT_AUDIENCE", ENDPOINT_URL)
    client = chat_stack.make_client("chat_google")
    claims = {
        "iss": "https://accounts.google.com",
        "aud": ENDPOINT_URL,
        "email": CHAT_ISSUER,
        "email_verified": True,
    }
    good = chat_stack.certs.token(claims)
    other = chat_stack.certs.token({**claims, "email": "mallory@example.com"})
    project_style = chat_token(chat_stack.certs, aud=ENDPOINT_URL)

    services.reset()
    assert post_chat(client, chat_event("list"), good).status_code == 200
    assert post_chat(client, chat_event("list"), other).status_code == 401
    assert post_chat(client, chat_event("list"), project_style).status_code == 401


@pytest.mark.parametrize(
    "case",
    ["missing", "expired", "forged", "wrong audience", "wrong issuer", "garbage"],
)
def test_bad_token_rejected(chat_stack: ChatStack, case: str) -> None:
    certs = chat_stack.certs
    tokens = {
        "missing": None,
        "expired": certs.token(
            {"iss": CHAT_ISSUER, "aud": PROJECT_NUMBER, "iat": int(time.time()) - 7200},
            lifetime=-3600,
        ),
        # Signed by another key under the trusted key's id.
        "forged": certs.token(
            {"iss": CHAT_ISSUER, "aud": PROJECT_NUMBER}, key=make_key(), key_id=KEY_ID
        ),
        "wrong audience": chat_token(certs, aud="999999999999"),
        "wrong issuer": chat_token(
            certs, iss="someone@example.iam.gserviceaccount.com"
        ),
        "garbage": "not.a.token",
    }
    client = chat_stack.make_client("chat_google")

    answer = post_chat(client, chat_event("elevation dimensions=64"), tokens[case])

    assert answer.status_code == 401
    assert answer.get_json()["error"]["code"] in ("TOKEN_MISSING", "TOKEN_INVALID")
    assert chat_stack.ee_calls() == 0
    assert chat_stack.published() == []


def test_added_to_space_welcomes(chat_stack: ChatStack) -> None:
    reply = reply_to(chat_stack, chat_event(None, event_type="ADDED_TO_SPACE"))

    assert "`/render list`" in reply["text"]


def test_removed_from_space_is_quiet(chat_stack: ChatStack) -> None:
    reply = reply_to(chat_stack, chat_event(None, event_type="REMOVED_FROM_SPACE"))

    assert reply == {}


def test_quick_command_lists_recipes(chat_stack: ChatStack) -> None:
    event = chat_event(None, event_type="APP_COMMAND")
    event["appCommandMetadata"] = {"appCommandId": 2, "appCommandType": "QUICK_COMMAND"}

    reply = reply_to(chat_stack, event)

    assert "*hillshade*" in reply["text"]


def test_mention_without_slash(chat_stack: ChatStack) -> None:
    reply = reply_to(chat_stack, chat_event("help hillshade", slash=False))

    assert "Usage: hillshade [center]" in reply["text"]


def test_unknown_command_reply(chat_stack: ChatStack) -> None:
    reply = reply_to(chat_stack, chat_event("render elevation"))

    assert "Recipe 'render' does not exist" in reply["text"]


def test_bad_parameter_reply(chat_stack: ChatStack) -> None:
    reply = reply_to(chat_stack, chat_event("hillshade center=10,95,1000"))

    assert "Parameter center of recipe hillshade" in reply["text"]
    assert "latitude 95" in reply["text"]
    assert chat_stack.ee_calls() == 0


def test_earth_engine_failure_reply(chat_stack: ChatStack) -> None:
    reply = reply_to(chat_stack, chat_event("missing"))

    assert reply["text"].startswith("Sorry, that did not work:")
    assert "users/nobody/missing" in reply["text"]


def test_slow_render_posted_later(
    chat_stack: ChatStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHAT_REPLY_SECONDS", "0.3")
    chat_stack.add_fault(method="thumbnails.create", fault="slow", delay_seconds=1.5)

    reply = reply_to(chat_stack, chat_event("elevation dimensions=64", message_id="m1"))

    assert "takes a little longer" in reply["text"]
    [message] = chat_stack.published()
    attributes = message["attributes"]
    assert attributes["reply_space"] == "spaces/AAAA1234"
    assert attributes["reply_thread"] == "spaces/AAAA1234/threads/TTTT"
    assert published_request(message)["recipe"] == "elevation"
    assert chat_stack.chat_posts() == []

    chat_stack.render_published()
    chat = chat_stack.make_client("chat_google")
    first = chat_stack.push_result(chat)
    again = chat_stack.push_result(chat)

    assert first.status_code == 204
    assert again.status_code == 204
    [post] = chat_stack.chat_posts()
    assert post["space"] == "spaces/AAAA1234"
    assert post["authorization"] == "Bearer"
    assert post["query"]["requestId"] == attributes["request_id"]
    assert post["message"]["thread"] == {"name": "spaces/AAAA1234/threads/TTTT"}
    image_url = widgets(post["message"])[0]["image"]["imageUrl"]
    assert "X-Goog-Signature=" in image_url


def test_slow_failure_posted_as_text(
    chat_stack: ChatStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHAT_REPLY_SECONDS", "0.3")
    chat_stack.add_fault(method="thumbnails.create", fault="slow", delay_seconds=1.5)
    reply_to(chat_stack, chat_event("missing"))
    chat_stack.render_published()

    chat_stack.push_result(chat_stack.make_client("chat_google"))

    [post] = chat_stack.chat_posts()
    assert "`/render missing` failed" in post["message"]["text"]


def test_unsigned_push_local_only(
    chat_stack: ChatStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHAT_REPLY_SECONDS", "0.3")
    chat_stack.add_fault(method="thumbnails.create", fault="slow", delay_seconds=1.5)
    reply_to(chat_stack, chat_event("elevation dimensions=64"))
    chat_stack.render_published()
    monkeypatch.setenv("PUSH_UNSIGNED_LOCAL", "true")
    services.reset()
    chat = chat_stack.make_client("chat_google")

    local = chat_stack.push_result(chat, token="")

    assert local.status_code == 204
    assert len(chat_stack.chat_posts()) == 1

    monkeypatch.setenv("PUBSUB_API_URL", "https://pubsub.googleapis.com")
    services.reset()
    refused = chat_stack.push_result(chat, token="")
    assert refused.status_code == 503
    assert refused.get_json()["error"]["code"] == "UNSIGNED_PUSH_NOT_LOCAL"
