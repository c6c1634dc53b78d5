"""Certificate caching and Slack signature edge cases."""

from __future__ import annotations

import time

import pytest
import requests

from eerender.chat_auth import CertificateCache, TokenVerifier, verify_slack
from eerender.errors import ConfigurationError, Unauthenticated
from tests.chat.conftest import (
    CHAT_ISSUER,
    PROJECT_NUMBER,
    SIGNING_SECRET,
    CertServer,
    slack_headers,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def verifier(certs: CertServer, clock: Clock) -> TokenVerifier:
    cache = CertificateCache(certs.url, requests.Session(), clock=clock)
    return TokenVerifier(cache, PROJECT_NUMBER, (CHAT_ISSUER,))


def test_certificates_kept_for_max_age(certs: CertServer) -> None:
    clock = Clock()
    check = verifier(certs, clock)
    token = certs.token({"iss": CHAT_ISSUER, "aud": PROJECT_NUMBER})
    before = certs.fetches

    check.verify(f"Bearer {token}")
    check.verify(f"Bearer {token}")
    clock.now += 3601
    check.verify(f"Bearer {token}")

    assert certs.fetches - before == 2


def test_unknown_key_refetch_is_limited(certs: CertServer) -> None:
    clock = Clock()
    check = verifier(certs, clock)
    unknown = certs.token({"iss": CHAT_ISSUER, "aud": PROJECT_NUMBER}, key_id="other")
    before = certs.fetches

    for _ in range(5):
        with pytest.raises(Unauthenticated):
            check.verify(f"Bearer {unknown}")
    clock.now += 61
    with pytest.raises(Unauthenticated):
        check.verify(f"Bearer {unknown}")

    # One fetch at first use and one after the minimum interval.
    assert certs.fetches - before == 2


def test_unreachable_certificates_are_configuration() -> None:
    cache = CertificateCache("http://127.0.0.1:9/certs", requests.Session())
    check = TokenVerifier(cache, PROJECT_NUMBER, (CHAT_ISSUER,))

    with pytest.raises(ConfigurationError) as caught:
        check.verify("Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6IngifQ.e30.c2ln")
    assert caught.value.code == "CERTS_UNAVAILABLE"


def test_bearer_scheme_required(certs: CertServer) -> None:
    check = verifier(certs, Clock())
    token = certs.token({"iss": CHAT_ISSUER, "aud": PROJECT_NUMBER})

    with pytest.raises(Unauthenticated) as caught:
        check.verify(f"Basic {token}")
    assert caught.value.code == "TOKEN_MISSING"


@pytest.mark.parametrize(
    "case", ["future timestamp", "non-numeric timestamp", "other version"]
)
def test_slack_signature_cases(case: str) -> None:
    body = b"command=%2Frender&text=list"
    verify_slack(body, slack_headers(body), SIGNING_SECRET)
    headers = {
        "future timestamp": slack_headers(body, timestamp=int(time.time()) + 400),
        "non-numeric timestamp": {
            **slack_headers(body),
            "X-Slack-Request-Timestamp": "x",
        },
        "other version": {**slack_headers(body), "X-Slack-Signature": "v1=00"},
    }[case]

    with pytest.raises(Unauthenticated):
        verify_slack(body, headers, SIGNING_SECRET)


def test_slack_non_utf8_body_rejected() -> None:
    body = b"text=\xff\xfe"

    with pytest.raises(Unauthenticated):
        verify_slack(body, slack_headers(body), SIGNING_SECRET)


def test_slack_secret_required() -> None:
    with pytest.raises(ConfigurationError) as caught:
        verify_slack(b"", {}, "")
    assert caught.value.code == "SLACK_SECRET_MISSING"


def strip_signature(token: str) -> str:
    """Do to ``token`` what a private Cloud Run service does after checking it."""
    return token.rsplit(".", 1)[0] + ".SIGNATURE_REMOVED_BY_GOOGLE"


def upstream_verifier(certs: CertServer, checked_by_cloud_run: bool) -> TokenVerifier:
    cache = CertificateCache(certs.url, requests.Session())
    return TokenVerifier(
        cache, PROJECT_NUMBER, (CHAT_ISSUER,), checked_by_cloud_run=checked_by_cloud_run
    )


def test_removed_signature_accepted_when_private(certs: CertServer) -> None:
    token = strip_signature(certs.token({"iss": CHAT_ISSUER, "aud": PROJECT_NUMBER}))

    claims = upstream_verifier(certs, True).verify(f"Bearer {token}")

    assert claims["iss"] == CHAT_ISSUER


def test_removed_signature_refused_when_public(certs: CertServer) -> None:
    token = strip_signature(certs.token({"iss": CHAT_ISSUER, "aud": PROJECT_NUMBER}))

    with pytest.raises(Unauthenticated) as caught:
        upstream_verifier(certs, False).verify(f"Bearer {token}")
    assert "TOKENS_CHECKED_BY_CLOUD_RUN" in caught.value.message


@pytest.mark.parametrize(
    ("claims", "lifetime", "reason"),
    [
        ({"iss": CHAT_ISSUER, "aud": "999"}, 3600, "audience"),
        ({"iss": "someone@example.com", "aud": PROJECT_NUMBER}, 3600, "issuer"),
        ({"iss": CHAT_ISSUER, "aud": PROJECT_NUMBER}, -3600, "expired"),
    ],
)
def test_removed_signature_claims_still_checked(
    certs: CertServer, claims: dict[str, str], lifetime: int, reason: str
) -> None:
    token = strip_signature(certs.token(claims, lifetime=lifetime))

    with pytest.raises(Unauthenticated) as caught:
        upstream_verifier(certs, True).verify(f"Bearer {token}")
    assert reason in caught.value.message
