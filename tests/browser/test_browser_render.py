"""The HTTP function as a web page uses it, in headless Chromium.

Each page loads the function's GET links as ``<img src>`` (a plain redirect link, a
signed link and a tampered signed link) and calls the function with ``fetch()``, a
simple GET and a POST of JSON that needs a CORS preflight. It writes what the
browser saw (natural image sizes, statuses, or the error of a refused fetch) into
the DOM, which the test reads.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any
from urllib.parse import urlencode

import pytest

from eerender import auth
from local.demo import ELEVATION as SRTM
from tests.browser.conftest import LINK_SECRET, BrowserStack, run_page

WIDTH, HEIGHT = 120, 80
PNG_QUERY = {
    "region": "70,20,100,40",
    "dimensions": f"{WIDTH}x{HEIGHT}",
    "min": "0",
    "max": "6000",
    "palette": "006633,E5FFCC,662A00,D8D8D8,F5F5F5",
    "format": "png",
}
LINK_LIFETIME = 600

PAGE = """<!doctype html>
<html>
<head><meta charset="utf-8"><title>render checks</title></head>
<body>
<pre id="results">pending</pre>
<script>
const checks = CHECKS;

function loadImage(check) {
  return new Promise((resolve) => {
    const image = document.createElement("img");
    image.onload = () => resolve(
      {loaded: true, width: image.naturalWidth, height: image.naturalHeight});
    image.onerror = () => resolve({loaded: false});
    image.src = check.url;
    document.body.appendChild(image);
  });
}

async function callFunction(check) {
  try {
    const response = await fetch(check.url, check.init);
    return {status: response.status, body: await response.json()};
  } catch (error) {
    return {error: error.name};
  }
}

Promise.all(checks.map((check) =>
  check.kind === "image" ? loadImage(check) : callFunction(check)
)).then((values) => {
  const results = {};
  checks.forEach((check, index) => { results[check.name] = values[index]; });
  document.getElementById("results").textContent = JSON.stringify(results);
});
</script>
</body>
</html>
"""


def page(checks: list[dict[str, Any]]) -> str:
    # "</" inside a script would end it early, so JSON slashes are escaped there.
    return PAGE.replace("CHECKS", json.dumps(checks).replace("</", "<\\/"))


def encoded_request() -> str:
    """Return the expression as the ``request`` parameter: base64url, no padding."""
    data = json.dumps({"expression": SRTM}).encode()
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def image_link(function_url: str, **changes: str) -> str:
    query = {"request": encoded_request(), **PNG_QUERY, **changes}
    return f"{function_url}/?{urlencode(query)}"


def signed_link(function_url: str, **changes: str) -> str:
    query = {"request": [encoded_request()]}
    query |= {name: [value] for name, value in {**PNG_QUERY, **changes}.items()}
    expires = int(time.time()) + LINK_LIFETIME
    return auth.sign_link(f"{function_url}/", query, LINK_SECRET, expires)


def tampered(link: str) -> str:
    """Return ``link`` asking for a larger image than it was signed for."""
    tampered_link = link.replace(f"{WIDTH}x{HEIGHT}", f"{WIDTH * 2}x{HEIGHT * 2}")
    assert tampered_link != link
    return tampered_link


def fetch_checks(function_url: str) -> list[dict[str, Any]]:
    """A simple GET for JSON, and a JSON POST that needs a CORS preflight."""
    post_body = {
        "expression": SRTM,
        "region": [70, 20, 100, 40],
        "dimensions": f"{WIDTH}x{HEIGHT}",
        "response": "json",
    }
    return [
        {
            "name": "fetch_get",
            "kind": "fetch",
            "url": image_link(function_url, response="json"),
            "init": {},
        },
        {
            "name": "fetch_post",
            "kind": "fetch",
            "url": f"{function_url}/",
            "init": {
                "method": "POST",
                "headers": {"Content-Type": "application/json"},
                "body": json.dumps(post_body),
            },
        },
    ]


@pytest.fixture(scope="module")
def allowed_results(chromium: str, browser_stack: BrowserStack) -> dict[str, Any]:
    link = signed_link(browser_stack.link_url)
    checks = [
        {
            "name": "redirect",
            "kind": "image",
            "url": image_link(browser_stack.open_url),
        },
        {"name": "signed", "kind": "image", "url": link},
        {"name": "tampered", "kind": "image", "url": tampered(link)},
        *fetch_checks(browser_stack.open_url),
    ]
    browser_stack.allowed.pages["/checks.html"] = page(checks)
    return run_page(chromium, f"{browser_stack.allowed.origin}/checks.html")


@pytest.fixture(scope="module")
def other_results(chromium: str, browser_stack: BrowserStack) -> dict[str, Any]:
    checks = [
        {
            "name": "redirect",
            "kind": "image",
            "url": image_link(browser_stack.open_url),
        },
        *fetch_checks(browser_stack.open_url),
    ]
    browser_stack.other.pages["/checks.html"] = page(checks)
    return run_page(chromium, f"{browser_stack.other.origin}/checks.html")


def test_redirect_image_shows(allowed_results: dict[str, Any]) -> None:
    image = allowed_results["redirect"]

    assert image["loaded"] is True
    assert image["width"] == WIDTH
    assert image["height"] == HEIGHT


def test_signed_link_image_shows(allowed_results: dict[str, Any]) -> None:
    image = allowed_results["signed"]

    assert image["loaded"] is True
    assert image["width"] == WIDTH
    assert image["height"] == HEIGHT


def test_tampered_link_image_fails(allowed_results: dict[str, Any]) -> None:
    assert allowed_results["tampered"] == {"loaded": False}


def test_allowed_origin_fetch_get(allowed_results: dict[str, Any]) -> None:
    result = allowed_results["fetch_get"]

    assert result.get("status") == 200, result
    assert result["body"]["url"].endswith(":getPixels")


def test_allowed_origin_fetch_post(allowed_results: dict[str, Any]) -> None:
    result = allowed_results["fetch_post"]

    assert result.get("status") == 200, result
    assert result["body"]["url"].endswith(":getPixels")


def test_other_origin_fetch_get_refused(other_results: dict[str, Any]) -> None:
    # The browser hides the response and rejects fetch() with a TypeError.
    assert other_results["fetch_get"] == {"error": "TypeError"}


def test_other_origin_fetch_post_refused(other_results: dict[str, Any]) -> None:
    assert other_results["fetch_post"] == {"error": "TypeError"}


def test_other_origin_image_shows(other_results: dict[str, Any]) -> None:
    # <img> is not subject to CORS, so any page may show a redirect link.
    image = other_results["redirect"]

    assert image["loaded"] is True
    assert image["width"] == WIDTH
    assert image["height"] == HEIGHT
