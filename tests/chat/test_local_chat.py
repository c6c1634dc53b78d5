"""The local chat stack end to end: real processes from the command to the post."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
import requests

from local import stack
from local.chat_standin import slack_headers

WAIT_SECONDS = 60


@pytest.fixture(scope="module")
def running() -> Iterator[stack.Stack]:
    with stack.running(chat=True) as local_stack:
        yield local_stack


def wait_for(check: Callable[[], Any]) -> Any:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"nothing appeared within {WAIT_SECONDS} s")


def posts(running: stack.Stack, kind: str) -> list[dict[str, Any]]:
    answer = requests.get(f"{running.chat_standin_url}/_standin/posts", timeout=10)
    answer.raise_for_status()
    found: list[dict[str, Any]] = answer.json()[kind]
    return found


def test_slack_command_posts_image(running: stack.Stack) -> None:
    form = {
        "command": "/render",
        "text": "landcover 0,40,20,50 dimensions=64",
        "response_url": f"{running.chat_standin_url}/slack/response/T1/2/3",
        "team_id": "T1",
        "user_id": "U1",
        "channel_id": "C1",
    }
    body = urlencode(form).encode()
    headers = slack_headers(body, stack.LOCAL_SLACK_SECRET)
    answer = requests.post(
        running.slack_function_url, data=body, headers=headers, timeout=30
    )

    assert answer.status_code == 200
    assert answer.json()["text"].startswith("Rendering")
    [post] = wait_for(lambda: posts(running, "slack"))
    image_url = post["message"]["blocks"][1]["image_url"]
    image = requests.get(image_url, timeout=30)
    assert image.status_code == 200
    assert image.content.startswith(b"\x89PNG")


def test_chat_needs_signed_token(running: stack.Stack) -> None:
    event = {"type": "MESSAGE", "space": {"name": "spaces/S"}, "message": {}}

    unsigned = requests.post(running.chat_function_url, json=event, timeout=30)
    claims = {
        "iss": "chat@system.gserviceaccount.com",
        "aud": stack.LOCAL_PROJECT_NUMBER,
    }
    token = requests.post(
        f"{running.chat_standin_url}/_standin/token", json=claims, timeout=30
    ).json()["token"]
    signed = requests.post(
        running.chat_function_url,
        json={**event, "message": {"argumentText": " list"}},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )

    assert unsigned.status_code == 401
    assert signed.status_code == 200
    assert "*elevation*" in signed.json()["text"]
