"""Verification of chat requests before any work: bearer tokens and Slack signatures.

Google Chat signs each request with a bearer token whose form depends on the app's
authentication audience. With the project number, the token is a JWT issued by
``chat@system.gserviceaccount.com`` and signed by that account's keys. With the HTTP
endpoint URL, it is a Google-signed OIDC ID token (issuer ``accounts.google.com``) whose
``email`` is ``chat@system.gserviceaccount.com``. Pub/Sub pushes of render results carry
an ID token of the push subscription's service account. Slack signs with HMAC-SHA256
over ``v0:{timestamp}:{body}`` and the app's signing secret.

Certificates are fetched from configurable URLs and kept for the max-age their response
allows, so tests and the local stand-in serve their own.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from google.auth import jwt
from slack_sdk.signature import SignatureVerifier

from eerender.config import Settings, is_loopback
from eerender.errors import ConfigurationError, Unauthenticated, Upstream

logger = logging.getLogger(__name__)

CHAT_ISSUER = "chat@system.gserviceaccount.com"
GOOGLE_ISSUERS = ("accounts.google.com", "https://accounts.google.com")
CHAT_CERTS_URL = (
    "https://www.googleapis.com/service_accounts/v1/metadata/x509/"
    "chat@system.gserviceaccount.com"
)
# Tokens are checked with this much tolerance for clocks that disagree, in seconds.
CLOCK_SKEW_SECONDS = 30
# What a private Cloud Run service puts in place of a checked ID token's signature.
# NOTE: taken from Cloud Run's documentation as quoted publicly; not seen here.
SIGNATURE_REMOVED = "SIGNATURE_REMOVED_BY_GOOGLE"
# A token signed by an unknown key refetches the certificates at most this often, so
# forged key ids cannot turn each request into a certificate download.
MIN_REFRESH_SECONDS = 60.0
DEFAULT_MAX_AGE_SECONDS = 3600.0
CERTS_TIMEOUT = (5.0, 10.0)
_MAX_AGE = re.compile(r"max-age=(\d+)")


@dataclass
class CertificateCache:
    """Public certificates by key id, fetched from ``url`` and kept for their max-age.

    The URL returns JSON ``{"key id": "PEM certificate", ...}``, the form of Google's
    x509 metadata endpoints.
    """

    url: str
    session: requests.Session
    clock: Callable[[], float] = time.monotonic
    _certificates: dict[str, str] = field(default_factory=dict)
    _expires: float = 0.0
    _fetched: float = float("-inf")
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def certificates(self, key_id: str | None) -> Mapping[str, str]:
        """Return the certificates, fetched again when stale or ``key_id`` is new.

        Raises:
            ConfigurationError: ``CERTS_UNAVAILABLE`` when the URL cannot be read.
        """
        with self._lock:
            now = self.clock()
            unknown = key_id is not None and key_id not in self._certificates
            may_refresh = now - self._fetched >= MIN_REFRESH_SECONDS
            if now >= self._expires or (unknown and may_refresh):
                self._fetch(now)
            return dict(self._certificates)

    def _fetch(self, now: float) -> None:
        try:
            response = self.session.get(self.url, timeout=CERTS_TIMEOUT)
            response.raise_for_status()
            body = response.json()
        except (requests.RequestException, ValueError) as error:
            raise ConfigurationError(
                f"Certificates could not be read from {self.url}: {error}. Check the "
                "certificate URL setting and outbound access.",
                code="CERTS_UNAVAILABLE",
                upstream=Upstream("certificates", None, type(error).__name__),
            ) from error
        if not isinstance(body, dict) or not all(
            isinstance(value, str) for value in body.values()
        ):
            raise ConfigurationError(
                f"{self.url} did not return {{key id: PEM certificate}} JSON; point "
                "the certificate URL at an x509 metadata endpoint.",
                code="CERTS_UNAVAILABLE",
            )
        self._certificates = body
        self._fetched = now
        self._expires = now + _max_age(response.headers.get("Cache-Control", ""))
        logger.info("Fetched %d certificates from %s", len(body), self.url)


def _max_age(cache_control: str) -> float:
    match = _MAX_AGE.search(cache_control)
    return float(match.group(1)) if match else DEFAULT_MAX_AGE_SECONDS


@dataclass(frozen=True)
class TokenVerifier:
    """Checks bearer tokens: signature, expiry, audience, issuer and, if set, email."""

    certificates: CertificateCache
    audience: str
    issuers: tuple[str, ...]
    email: str | None = None
    # True only on a private function: Cloud Run then checks the ID token itself and
    # passes it on with the signature replaced by SIGNATURE_REMOVED_BY_GOOGLE.
    checked_by_cloud_run: bool = False

    def verify(self, authorization: str | None) -> dict[str, Any]:
        """Return the token's claims.

        Raises:
            Unauthenticated: ``TOKEN_MISSING`` or ``TOKEN_INVALID`` with the reason.
        """
        token = _bearer(authorization)
        try:
            if token.rsplit(".", 1)[-1] == SIGNATURE_REMOVED:
                claims = self._claims_checked_upstream(token)
            else:
                claims = jwt.decode(  # type: ignore[no-untyped-call]
                    token,
                    certs=self.certificates.certificates(_key_id(token)),
                    audience=self.audience,
                    clock_skew_in_seconds=CLOCK_SKEW_SECONDS,
                )
        except ValueError as error:
            raise _invalid(str(error)) from error
        if claims.get("iss") not in self.issuers:
            raise _invalid(f"issuer {claims.get('iss')!r} is not {self.issuers[0]}")
        if self.email is not None:
            if claims.get("email") != self.email:
                raise _invalid(f"email {claims.get('email')!r} is not {self.email}")
            if claims.get("email_verified") is not True:
                raise _invalid("the email is not verified")
        return claims

    def _claims_checked_upstream(self, token: str) -> dict[str, Any]:
        """Read a token whose signature Cloud Run checked, then check the claims.

        Without TOKENS_CHECKED_BY_CLOUD_RUN such a token is refused: on a public
        function anybody could send one with any claims.
        """
        if not self.checked_by_cloud_run:
            raise ValueError(
                "its signature was removed, which only Cloud Run may do on a private "
                "function; set TOKENS_CHECKED_BY_CLOUD_RUN=true there"
            )
        claims: dict[str, Any] = jwt.decode(token, verify=False)  # type: ignore[no-untyped-call]
        now = time.time()
        if not isinstance(claims.get("exp"), (int, float)):
            raise ValueError("it has no expiry")
        if claims["exp"] + CLOCK_SKEW_SECONDS < now:
            raise ValueError("it has expired")
        if claims.get("aud") != self.audience:
            raise ValueError(f"audience {claims.get('aud')!r} is not {self.audience}")
        return claims


def _bearer(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(
            "The request has no bearer token in its Authorization header.",
            code="TOKEN_MISSING",
        )
    return token.strip()


def _key_id(token: str) -> str | None:
    """Return the ``kid`` of the token's header, which google-auth checks afterwards.

    Raises:
        ValueError: for a header that is not base64url JSON.
    """
    segment = token.split(".", 1)[0]
    header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    key_id = header.get("kid") if isinstance(header, dict) else None
    return key_id if isinstance(key_id, str) else None


def _invalid(reason: str) -> Unauthenticated:
    return Unauthenticated(
        f"The bearer token was rejected: {reason}.", code="TOKEN_INVALID"
    )


def chat_verifier(settings: Settings) -> TokenVerifier:
    """Return the verifier for the audience the Chat app is configured with.

    Raises:
        ConfigurationError: ``CHAT_AUDIENCE_MISSING`` or ``INVALID_CHAT_AUDIENCE``.
    """
    audience = settings.chat_audience
    if not audience:
        raise ConfigurationError(
            "CHAT_AUDIENCE is not set: set it to the Chat app's authentication "
            "audience, the project number or the function's URL.",
            code="CHAT_AUDIENCE_MISSING",
        )
    if audience.isdigit():
        certificates = certificate_cache(settings.chat_certs_url or CHAT_CERTS_URL)
        return TokenVerifier(
            certificates,
            audience,
            (CHAT_ISSUER,),
            checked_by_cloud_run=settings.tokens_checked_by_cloud_run,
        )
    if audience.startswith(("https://", "http://")):
        url = settings.chat_certs_url or settings.id_token_certs_url
        certificates = certificate_cache(url)
        return TokenVerifier(
            certificates,
            audience,
            GOOGLE_ISSUERS,
            CHAT_ISSUER,
            checked_by_cloud_run=settings.tokens_checked_by_cloud_run,
        )
    raise ConfigurationError(
        f"CHAT_AUDIENCE={audience!r} is neither a project number nor an https URL.",
        code="INVALID_CHAT_AUDIENCE",
    )


def push_verifier(settings: Settings) -> TokenVerifier:
    """Return the verifier of ID tokens on result pushes from Pub/Sub.

    Raises:
        ConfigurationError: ``PUSH_AUTH_MISSING`` when the audience or account is unset.
    """
    if not settings.push_audience or not settings.push_service_account:
        raise ConfigurationError(
            "Result pushes cannot be verified: set PUSH_AUDIENCE to this function's "
            "URL and PUSH_SERVICE_ACCOUNT to the push subscription's account.",
            code="PUSH_AUTH_MISSING",
        )
    certificates = certificate_cache(settings.id_token_certs_url)
    return TokenVerifier(
        certificates,
        settings.push_audience,
        GOOGLE_ISSUERS,
        settings.push_service_account,
        checked_by_cloud_run=settings.tokens_checked_by_cloud_run,
    )


_caches: dict[str, CertificateCache] = {}
_caches_lock = threading.Lock()
# Certificates are public, so they are fetched without credentials.
_session = requests.Session()


def certificate_cache(url: str) -> CertificateCache:
    """Return this instance's cache for ``url``, shared by every request."""
    with _caches_lock:
        cache = _caches.get(url)
        if cache is None:
            cache = _caches[url] = CertificateCache(url, _session)
        return cache


def verify_slack(body: bytes, headers: Mapping[str, str], secret: str) -> None:
    """Check Slack's v0 signature of ``body`` and that it was made within 5 minutes.

    slack_sdk's SignatureVerifier does the HMAC-SHA256 comparison in constant time and
    rejects timestamps more than 300 s from now, in either direction.

    Raises:
        ConfigurationError: ``SLACK_SECRET_MISSING`` when no signing secret is set.
        Unauthenticated: ``SIGNATURE_MISSING`` or ``SIGNATURE_INVALID``.
    """
    if not secret:
        raise ConfigurationError(
            "SLACK_SIGNING_SECRET is not set: give the function the app's signing "
            "secret from Secret Manager.",
            code="SLACK_SECRET_MISSING",
        )
    lowered = {name.lower(): value for name, value in headers.items()}
    timestamp = lowered.get("x-slack-request-timestamp", "")
    signature = lowered.get("x-slack-signature", "")
    if not timestamp or not signature:
        raise Unauthenticated(
            "The request has no X-Slack-Request-Timestamp or X-Slack-Signature "
            "header; only Slack may call this function.",
            code="SIGNATURE_MISSING",
        )
    valid = False
    if timestamp.isdigit():
        try:
            valid = SignatureVerifier(secret).is_valid(body, timestamp, signature)
        except UnicodeDecodeError:
            valid = False
    if not valid:
        age = int(time.time()) - int(timestamp) if timestamp.isdigit() else None
        logger.warning(
            "Slack signature rejected",
            extra={"json_fields": {"timestamp_age_seconds": age}},
        )
        raise Unauthenticated(
            "The Slack signature does not match the body, or its timestamp is more "
            "than 5 minutes from now.",
            code="SIGNATURE_INVALID",
        )


def allow_unsigned_push(settings: Settings, remote_address: str | None) -> bool:
    """Tell whether a push without a token may pass: local development only.

    Raises:
        ConfigurationError: ``UNSIGNED_PUSH_NOT_LOCAL`` when the setting is on but the
            Pub/Sub endpoint is not a loopback address.
    """
    if not settings.push_unsigned_local:
        return False
    if not is_loopback(settings.pubsub_api_url):
        raise ConfigurationError(
            "PUSH_UNSIGNED_LOCAL is on but PUBSUB_API_URL is not a loopback address. "
            "Unset PUSH_UNSIGNED_LOCAL: deployed functions verify every push.",
            code="UNSIGNED_PUSH_NOT_LOCAL",
        )
    try:
        return ipaddress.ip_address(remote_address or "").is_loopback
    except ValueError:
        return False
