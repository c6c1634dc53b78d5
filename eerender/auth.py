"""Caller authentication of the HTTP function: IAM, signed webhooks, signed GET links.

``HTTP_AUTH_MODES`` picks the layers:

- ``iam`` (the default): Cloud Run checks the caller's Google ID token before the
  function runs, so the code checks nothing. The service must not grant
  ``roles/run.invoker`` to ``allUsers``.
- ``hmac``: for callers that cannot mint Google ID tokens. A request carries
  ``X-Render-Timestamp: <unix seconds>`` and ``X-Render-Signature: v1=<hex>``, the
  HMAC-SHA256 under a key of ``HTTP_HMAC_KEYS`` of
  ``v1:<timestamp>:<METHOD>:<raw query string>`` and a newline, followed by the raw
  body. ``X-Render-Key-Id`` may name the key. The timestamp must be within
  ``HTTP_HMAC_MAX_SKEW`` seconds of the function's clock.
- ``signed-link``: a GET link carries ``expires=<unix seconds>`` and
  ``signature=<hex>``, the HMAC-SHA256 under a key of ``HTTP_LINK_KEYS`` of
  ``v1:GET:`` and the canonical query (every other parameter, ``expires`` included,
  percent-encoded and sorted). Changing, adding or removing any parameter breaks the
  signature, so a public link renders only what it was signed for.

``python -m eerender.auth sign-link`` mints a link, and ``sign-request`` prints the
headers of a webhook call.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import hmac
import ipaddress
import json
import logging
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import flask

from eerender.config import Settings
from eerender.errors import Unauthenticated

logger = logging.getLogger(__name__)

TIMESTAMP_HEADER = "X-Render-Timestamp"
SIGNATURE_HEADER = "X-Render-Signature"
KEY_ID_HEADER = "X-Render-Key-Id"
EXPIRES_PARAMETER = "expires"
SIGNATURE_PARAMETER = "signature"
VERSION = "v1"
# A link valid for longer than this is almost certainly a mistake in the minting call.
MAX_LINK_TTL = 366 * 86400


@dataclass(frozen=True)
class Caller:
    """An authenticated caller.

    ``key`` names the caller for rate limits: ``iam:<account>``, ``hmac:<key id>`` or
    ``ip:<address>``. ``query`` is the GET query without the link parameters.
    """

    key: str
    mode: str
    query: dict[str, list[str]] = field(default_factory=dict)


def authenticate(request: flask.Request, body: bytes, settings: Settings) -> Caller:
    """Authenticate ``request`` by the modes in ``settings.http_auth_modes``.

    Args:
        request: The incoming request.
        body: Its raw body, already read; empty for GET.
        settings: Supplies the modes, keys and the replay window.

    Raises:
        Unauthenticated: ``UNAUTHENTICATED`` for a request without a signature that
            an enabled mode needs, ``SIGNATURE_INVALID`` or ``SIGNATURE_EXPIRED``.
    """
    query = request.args.to_dict(flat=False)
    modes = settings.http_auth_modes
    if "iam" in modes:
        return Caller(_iam_caller(request, settings), "iam", query)
    if "hmac" in modes and request.headers.get(SIGNATURE_HEADER) is not None:
        key_id = _verify_webhook(request, body, settings)
        return Caller(f"hmac:{key_id}", "hmac", query)
    if "signed-link" in modes and SIGNATURE_PARAMETER in query:
        return Caller(
            f"ip:{client_address(request, settings)}",
            "signed-link",
            _verify_link(request.method, query, settings),
        )
    raise Unauthenticated(_missing_message(modes), code="UNAUTHENTICATED")


def _missing_message(modes: frozenset[str]) -> str:
    ways = []
    if "hmac" in modes:
        ways.append(
            f"sign the request with {TIMESTAMP_HEADER} and {SIGNATURE_HEADER} "
            f"({VERSION}=<hex HMAC-SHA256>)"
        )
    if "signed-link" in modes:
        ways.append(
            f"use a signed GET link with {EXPIRES_PARAMETER} and "
            f"{SIGNATURE_PARAMETER} parameters"
        )
    return "This function accepts only signed requests: " + ", or ".join(ways) + "."


def _iam_caller(request: flask.Request, settings: Settings) -> str:
    """Return the invoking account, or the client address when none is known.

    Cloud Run has verified the ID token before the request arrives, so its claims
    are read without verifying the signature again. They only name the caller for
    rate limits and logs; nothing is allowed on their strength.
    """
    authorization = request.headers.get("Authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.count(".") == 2:
        claims = _jwt_claims(token)
        account = claims.get("email") or claims.get("sub")
        if isinstance(account, str) and 0 < len(account) <= 320:
            return f"iam:{account}"
    return f"ip:{client_address(request, settings)}"


def _jwt_claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    try:
        decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        claims = json.loads(decoded)
    except (binascii.Error, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


def client_address(request: flask.Request, settings: Settings) -> str:
    """Return the caller's IP address as the trusted proxies report it.

    Each proxy appends the address it was connected from to X-Forwarded-For, so the
    entry ``HTTP_TRUSTED_PROXY_HOPS`` from the right is the last one that no caller
    could write. Entries to its left are the caller's own claims and are ignored.
    """
    hops = settings.trusted_proxy_hops
    entries = [
        entry.strip()
        for header in request.headers.getlist("X-Forwarded-For")
        for entry in header.split(",")
    ]
    if hops and len(entries) >= hops:
        candidate = entries[-hops]
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            logger.warning("X-Forwarded-For entry is not an IP address; using the peer")
    return request.remote_addr or "unknown"


def webhook_message(timestamp: str, method: str, query: bytes, body: bytes) -> bytes:
    """Return the bytes a webhook signature covers."""
    head = f"{VERSION}:{timestamp}:{method.upper()}:".encode()
    return head + query + b"\n" + body


def _verify_webhook(request: flask.Request, body: bytes, settings: Settings) -> str:
    timestamp = request.headers.get(TIMESTAMP_HEADER, "")
    if not _is_seconds(timestamp):
        raise Unauthenticated(
            f"{TIMESTAMP_HEADER} is missing or not a whole number of Unix seconds; "
            "send the time the request was signed.",
            code="SIGNATURE_INVALID",
        )
    skew = abs(time.time() - int(timestamp))
    if skew > settings.hmac_max_skew:
        raise Unauthenticated(
            f"{TIMESTAMP_HEADER} is {int(skew)} s away from this function's clock; at "
            f"most {settings.hmac_max_skew} s are accepted. Sign each request when it "
            "is sent, with the current time.",
            code="SIGNATURE_EXPIRED",
            limit=settings.hmac_max_skew,
        )
    message = webhook_message(timestamp, request.method, request.query_string, body)
    signatures = _webhook_signatures(request.headers.get(SIGNATURE_HEADER, ""))
    key_id = _matching_key(
        message, signatures, settings.hmac_keys, request.headers.get(KEY_ID_HEADER)
    )
    if key_id is None:
        raise Unauthenticated(
            f"{SIGNATURE_HEADER} does not match the request. Sign "
            f"'{VERSION}:<timestamp>:<METHOD>:<query string>', a newline and the raw "
            "body with HMAC-SHA256 under your key, and send the hex digest as "
            f"{VERSION}=<hex>.",
            code="SIGNATURE_INVALID",
        )
    return key_id


def _webhook_signatures(header: str) -> list[str]:
    # Several "v1=<hex>" entries may be sent while a key is being rotated.
    signatures = []
    for item in header.split(","):
        version, _, digest = item.strip().partition("=")
        if version == VERSION:
            signatures.append(digest.strip().lower())
    return signatures


def _matching_key(
    message: bytes,
    signatures: Sequence[str],
    keys: Sequence[tuple[str, str]],
    key_id: str | None,
) -> str | None:
    """Return the id of the key that signed ``message``, comparing in constant time."""
    candidates = [(name, secret) for name, secret in keys if key_id in (None, name)]
    for name, secret in candidates:
        expected = _digest(secret, message)
        for signature in signatures:
            if hmac.compare_digest(expected, signature.encode("ascii", "replace")):
                return name
    return None


def _digest(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest().encode()


def canonical_query(query: Mapping[str, Sequence[str]]) -> str:
    """Return ``query`` percent-encoded and sorted, the form a link signature covers."""
    pairs = sorted((name, value) for name, values in query.items() for value in values)
    return "&".join(f"{_encoded(name)}={_encoded(value)}" for name, value in pairs)


def _encoded(text: str) -> str:
    # Lone surrogates cannot come from a decoded URL, but must not crash a signer.
    return quote(text, safe="", errors="surrogatepass")


def link_message(query: Mapping[str, Sequence[str]]) -> bytes:
    """Return the bytes a link signature covers; ``query`` includes ``expires``."""
    return f"{VERSION}:GET:{canonical_query(query)}".encode()


def _verify_link(
    method: str, query: dict[str, list[str]], settings: Settings
) -> dict[str, list[str]]:
    if method != "GET":
        raise Unauthenticated(
            f"A signed link is only valid for GET, not {method}.",
            code="SIGNATURE_INVALID",
        )
    signatures = query.pop(SIGNATURE_PARAMETER)
    expires = query.get(EXPIRES_PARAMETER, [])
    if len(signatures) != 1 or len(expires) != 1 or not _is_seconds(expires[0]):
        raise Unauthenticated(
            f"A signed link needs one {EXPIRES_PARAMETER} (Unix seconds) and one "
            f"{SIGNATURE_PARAMETER}; mint the link again.",
            code="SIGNATURE_INVALID",
        )
    if _matching_key(link_message(query), signatures, settings.link_keys, None) is None:
        raise Unauthenticated(
            "The link's signature does not match its parameters: it was changed "
            "after signing, or signed with another key. Mint the link again.",
            code="SIGNATURE_INVALID",
        )
    if int(expires[0]) < time.time():
        raise Unauthenticated(
            "The link has expired; mint a new one.", code="SIGNATURE_EXPIRED"
        )
    del query[EXPIRES_PARAMETER]
    return query


def _is_seconds(value: str) -> bool:
    return value.isascii() and value.isdigit() and len(value) <= 12


def sign_link(
    base_url: str, query: Mapping[str, Sequence[str]], key: str, expires: int
) -> str:
    """Return ``base_url`` with ``query``, ``expires`` and the signature appended."""
    signed = {**query, EXPIRES_PARAMETER: [str(expires)]}
    signature = _digest(key, link_message(signed)).decode()
    return f"{base_url}?{canonical_query(signed)}&{SIGNATURE_PARAMETER}={signature}"


def sign_request(
    method: str, query: bytes, body: bytes, key: str, timestamp: int
) -> dict[str, str]:
    """Return the headers that authenticate a webhook request."""
    message = webhook_message(str(timestamp), method, query, body)
    return {
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: f"{VERSION}={_digest(key, message).decode()}",
    }


def _first_key(variable: str) -> str:
    settings = Settings.from_environ({"EE_PROJECT": "-", **os.environ})
    keys = settings.link_keys if variable == "HTTP_LINK_KEYS" else settings.hmac_keys
    if not keys:
        raise SystemExit(f"{variable} is empty; set it to the key to sign with.")
    return keys[0][1]


def main(argv: Sequence[str] | None = None) -> None:
    """Mint a signed GET link or print the headers of a signed webhook request."""
    parser = argparse.ArgumentParser(prog="python -m eerender.auth")
    commands = parser.add_subparsers(dest="command", required=True)
    link = commands.add_parser("sign-link", help="print a signed GET link")
    link.add_argument("url", help="the HTTP function's URL")
    link.add_argument("request", help="file with the render request as JSON")
    link.add_argument("--ttl", type=int, default=86400, help="seconds the link lives")
    webhook = commands.add_parser("sign-request", help="print webhook headers")
    webhook.add_argument("request", help="file with the exact body to send")
    arguments = parser.parse_args(argv)

    with open(arguments.request, "rb") as file:
        body = file.read()
    if arguments.command == "sign-request":
        key = _first_key("HTTP_HMAC_KEYS")
        headers = sign_request("POST", b"", body, key, int(time.time()))
        sys.stdout.write(
            "".join(f"{name}: {value}\n" for name, value in headers.items())
        )
        return

    if not 0 < arguments.ttl <= MAX_LINK_TTL:
        parser.error(f"--ttl must be from 1 to {MAX_LINK_TTL} seconds")
    # The whole request travels as one base64url parameter, as eerender.query reads it.
    encoded = base64.urlsafe_b64encode(body.strip()).decode().rstrip("=")
    expires = int(time.time()) + arguments.ttl
    key = _first_key("HTTP_LINK_KEYS")
    sys.stdout.write(
        sign_link(arguments.url, {"request": [encoded]}, key, expires) + "\n"
    )


if __name__ == "__main__":
    main()
