"""The Slack slash command: signatures, acknowledgement, hand-off and image post."""

from __future__ import annotations

import io
import time
from urllib.parse import parse_qs, urlsplit

import requests
from PIL import Image

from tests.chat.conftest import (
    ChatStack,
    post_slack,
    published_request,
    slack_body,
    slack_form,
    slack_headers,
)


def command(chat_stack: ChatStack, text: str, **changes: str) -> bytes:
    return slack_body(
        slack_form(text, chat_stack.chat.response_url("T0001/1/abc"), **changes)
    )


def send(chat_stack: ChatStack, body: bytes, **headers: str) -> dict:
    client = chat_stack.make_client("chat_slack")
    answer = post_slack(client, body, slack_headers(body, **headers))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()


def test_slow_render_acknowledged_first(chat_stack: ChatStack) -> None:
    # The slash command of the reported case, pointed at the local response_url.
    body = (
        "command=%2Frender&text=srtm+10%2C45%2C11%2C46&response_url="
        + requests.utils.quote(chat_stack.chat.response_url("T000/000/XXXX"), safe="")
        + "&team_id=T000&user_id=U000&channel_id=C000&trigger_id=000.000"
    ).encode()
    # Longer than Slack's 3 s window on its own.
    chat_stack.add_fault(method="thumbnails.create", fault="slow", delay_seconds=3.5)

    reply = send(chat_stack, body)

    # The acknowledgement is back while the render is only queued: nothing has been
    # rendered or posted yet.
    assert reply["response_type"] == "ephemeral"
    assert reply["text"].startswith("Rendering `/render elevation bbox=10,45,11,46`")
    [message] = chat_stack.published()
    assert message["attributes"]["response_url"].endswith(
        "/slack/response/T000/000/XXXX"
    )
    assert message["attributes"]["reply_app"] == "slack"
    assert published_request(message)["params"] == {"bbox": "10,45,11,46"}
    assert chat_stack.ee_calls() == 0
    assert chat_stack.slack_posts() == []

    chat_stack.render_published()
    slack = chat_stack.make_client("chat_slack")
    posted = chat_stack.push_result(slack)

    assert posted.status_code == 204
    [post] = chat_stack.slack_posts()
    assert post["id"] == "T000/000/XXXX"
    blocks = post["message"]["blocks"]
    assert post["message"]["response_type"] == "in_channel"
    image_url = blocks[1]["image_url"]
    assert "X-Goog-Signature=" in image_url
    assert "Full-size image" in blocks[0]["text"]["text"]
    image = Image.open(io.BytesIO(requests.get(image_url, timeout=30).content))
    assert image.format == "PNG"
    assert max(image.size) == 768


def test_repeat_and_retry_render_once(chat_stack: ChatStack) -> None:
    body = command(chat_stack, "elevation bbox=10,45,11,46 dimensions=64")

    first = send(chat_stack, body)
    repeat = send(chat_stack, command(chat_stack, "srtm 10,45,11,46 dimensions=64"))
    retry = send(chat_stack, body, **{"X-Slack-Retry-Num": "1"})

    assert first["text"].startswith("Rendering")
    assert "already being rendered" in repeat["text"]
    assert "already being rendered" in retry["text"]
    assert len(chat_stack.published()) == 1


def test_repeated_result_posts_once(chat_stack: ChatStack) -> None:
    send(chat_stack, command(chat_stack, "elevation dimensions=64"))
    chat_stack.render_published()
    slack = chat_stack.make_client("chat_slack")

    first = chat_stack.push_result(slack)
    again = chat_stack.push_result(slack)

    assert first.status_code == 204
    assert again.status_code == 204
    assert len(chat_stack.slack_posts()) == 1


def test_other_user_renders_again(chat_stack: ChatStack) -> None:
    send(chat_stack, command(chat_stack, "elevation dimensions=64"))
    send(chat_stack, command(chat_stack, "elevation dimensions=64", user_id="U999"))

    assert len(chat_stack.published()) == 2


def test_forged_signature_rejected(chat_stack: ChatStack) -> None:
    body = command(chat_stack, "elevation")
    client = chat_stack.make_client("chat_slack")

    answer = post_slack(client, body, slack_headers(body, secret="not-the-secret"))

    assert answer.status_code == 401
    assert answer.get_json()["error"]["code"] == "SIGNATURE_INVALID"
    assert chat_stack.published() == []


def test_tampered_body_rejected(chat_stack: ChatStack) -> None:
    signed = command(chat_stack, "elevation")
    sent = command(chat_stack, "elevation bbox=0,0,80,80")
    client = chat_stack.make_client("chat_slack")

    answer = post_slack(client, sent, slack_headers(signed))

    assert answer.status_code == 401
    assert chat_stack.published() == []


def test_replayed_request_rejected(chat_stack: ChatStack) -> None:
    body = command(chat_stack, "elevation")
    client = chat_stack.make_client("chat_slack")
    six_minutes_ago = int(time.time()) - 360

    answer = post_slack(client, body, slack_headers(body, timestamp=six_minutes_ago))

    assert answer.status_code == 401
    assert "5 minutes" in answer.get_json()["error"]["message"]
    assert chat_stack.published() == []


def test_missing_signature_headers(chat_stack: ChatStack) -> None:
    body = command(chat_stack, "elevation")
    client = chat_stack.make_client("chat_slack")
    headers = slack_headers(body)
    del headers["X-Slack-Signature"]

    answer = post_slack(client, body, headers)

    assert answer.status_code == 401
    assert answer.get_json()["error"]["code"] == "SIGNATURE_MISSING"


def test_unknown_recipe_message(chat_stack: ChatStack) -> None:
    reply = send(chat_stack, command(chat_stack, "elevashun 10,45,11,46"))

    assert reply["response_type"] == "ephemeral"
    assert "'elevashun' does not exist" in reply["text"]
    assert "elevation, hillshade" in reply["text"]
    assert chat_stack.published() == []


def test_bad_parameter_message(chat_stack: ChatStack) -> None:
    reply = send(chat_stack, command(chat_stack, "elevation bbox=10,45,11"))

    assert "Parameter bbox of recipe elevation" in reply["text"]
    assert "needs 4 numbers" in reply["text"]
    assert chat_stack.published() == []


def test_unknown_word_message(chat_stack: ChatStack) -> None:
    reply = send(chat_stack, command(chat_stack, "elevation colour=red"))

    assert "no parameter 'colour'" in reply["text"]


def test_list_and_help(chat_stack: ChatStack) -> None:
    listing = send(chat_stack, command(chat_stack, "list"))
    recipe_help = send(chat_stack, command(chat_stack, "help ndvi"))
    general = send(chat_stack, command(chat_stack, ""))

    assert "*truecolour*" in listing["text"]
    assert "Usage: ndvi [bbox]" in recipe_help["text"]
    assert "`/render list`" in general["text"]
    assert chat_stack.published() == []


def test_foreign_response_url_rejected(chat_stack: ChatStack) -> None:
    form = slack_form("elevation", "http://127.0.0.2:1/elsewhere")

    reply = send(chat_stack, slack_body(form))

    assert "does not start with an allowed prefix" in reply["text"]
    assert chat_stack.published() == []


def test_ssl_check_answered(chat_stack: ChatStack) -> None:
    body = slack_body({"ssl_check": "1", "token": "x"})
    client = chat_stack.make_client("chat_slack")

    answer = post_slack(client, body, slack_headers(body))

    assert answer.status_code == 200


def test_failed_render_posts_reason(chat_stack: ChatStack) -> None:
    send(chat_stack, command(chat_stack, "missing"))
    chat_stack.render_published()

    posted = chat_stack.push_result(chat_stack.make_client("chat_slack"))

    assert posted.status_code == 204
    [post] = chat_stack.slack_posts()
    assert post["message"]["response_type"] == "ephemeral"
    assert "`/render missing` failed" in post["message"]["text"]
    assert "users/nobody/missing" in post["message"]["text"]


def test_expired_response_url_dropped(chat_stack: ChatStack) -> None:
    send(chat_stack, command(chat_stack, "elevation dimensions=64"))
    chat_stack.render_published()
    chat_stack.chat.expire("T0001/1/abc")

    posted = chat_stack.push_result(chat_stack.make_client("chat_slack"))

    # Slack will not take it later either, so the result is acknowledged.
    assert posted.status_code == 204
    assert chat_stack.slack_posts() == []


def test_result_push_needs_token(chat_stack: ChatStack) -> None:
    send(chat_stack, command(chat_stack, "elevation dimensions=64"))
    chat_stack.render_published()
    slack = chat_stack.make_client("chat_slack")

    unsigned = chat_stack.push_result(slack, token="")
    wrong_audience = chat_stack.push_result(
        slack, token=chat_stack.push_token(aud="https://other.example")
    )
    wrong_account = chat_stack.push_result(
        slack, token=chat_stack.push_token(email="someone@example.com")
    )

    assert unsigned.status_code == 401
    assert wrong_audience.status_code == 401
    assert wrong_account.status_code == 401
    assert chat_stack.slack_posts() == []


def test_ack_names_published_request(chat_stack: ChatStack) -> None:
    send(chat_stack, command(chat_stack, "truecolour 0,40,20,50 format=jpeg"))

    [message] = chat_stack.published()
    request = published_request(message)
    assert request == {
        "recipe": "truecolour",
        "params": {"bbox": "0,40,20,50"},
        "delivery": "store",
        "signedUrl": True,
        "format": "jpeg",
    }
    assert message["attributes"]["request_id"]
    query = parse_qs(urlsplit(message["attributes"]["response_url"]).query)
    assert query == {}
