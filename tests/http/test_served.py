"""The HTTP function served by functions-framework in its own process, as deployed."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
import requests
from PIL import Image

from local import stack
from tests.http.test_render_http import ELEVATION_REQUEST, fresh_store_request


@pytest.fixture(scope="module")
def served() -> Iterator[stack.Stack]:
    with stack.running() as running:
        yield running


def test_served_redirect_renders(served: stack.Stack) -> None:
    answer = requests.post(
        served.function_url, json=ELEVATION_REQUEST, allow_redirects=False, timeout=60
    )

    assert answer.status_code == 302
    assert answer.headers["Location"].startswith(served.ee_url)
    pixels = requests.get(answer.headers["Location"], timeout=60)
    assert Image.open(io.BytesIO(pixels.content)).size == (300, 200)


def test_served_store_then_reuse(served: stack.Stack) -> None:
    request = fresh_store_request()
    first = requests.post(served.function_url, json=request, timeout=60)
    second = requests.post(served.function_url, json=request, timeout=60)

    assert first.status_code == 201, first.text
    assert second.status_code == 200
    assert second.json()["object"] == first.json()["object"]


def test_served_error_is_json(served: stack.Stack) -> None:
    answer = requests.post(
        served.function_url,
        data=b"{",
        headers={"Content-Type": "application/json"},
        timeout=60,
    )

    assert answer.status_code == 400
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.json()["error"]["code"] == "INVALID_JSON"
