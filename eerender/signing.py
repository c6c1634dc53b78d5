"""V4 signed URLs for stored renders, signed by the IAM Credentials API (no key file).

The function's own service account signs through ``signBlob``; it needs
``roles/iam.serviceAccountTokenCreator`` on itself. The endpoint is configuration, so a
local stand-in can sign for tests.
"""

from __future__ import annotations

import base64
import datetime
import logging
import time
from http import HTTPStatus
from urllib.parse import quote

import requests
from google.auth import credentials as auth_credentials
from google.cloud import storage

from eerender.config import Settings
from eerender.errors import ConfigurationError, Outcome, StorageError, Upstream
from eerender.logs import redact
from eerender.retry import RETRYABLE_STATUS_CODES, RetryPolicy, call_with_retry

logger = logging.getLogger(__name__)

# Signing sits on the request path of a stored render: a few quick attempts at most.
SIGNING_RETRY = RetryPolicy(max_attempts=3, initial_delay=0.2, deadline=10.0)
SIGNING_READ_TIMEOUT = 5.0


class IamSigner(auth_credentials.Signing):
    """Signs bytes with a service account's Google-managed key through signBlob."""

    def __init__(self, settings: Settings, session: requests.Session) -> None:
        self._email = settings.signed_url_service_account
        self._session = session
        self._url = (
            f"{settings.iam_credentials_url}/v1/projects/-/serviceAccounts/"
            f"{quote(self._email, safe='@')}:signBlob"
        )
        # signBlob responds in well under a second; a stalled call must not hold the
        # render for long, so the read waits at most SIGNING_READ_TIMEOUT.
        self._timeout = (
            settings.ee_connect_timeout,
            min(settings.ee_read_timeout, SIGNING_READ_TIMEOUT),
        )

    @property
    def signer_email(self) -> str:
        return self._email

    @property
    def signer(self) -> IamSigner:
        return self

    def sign_bytes(self, message: bytes | str) -> bytes:
        """Sign ``message`` with RSA-SHA256; a failed call is retried, which is safe."""
        payload = message.encode() if isinstance(message, str) else message
        body = {"payload": base64.b64encode(payload).decode("ascii")}
        return call_with_retry(
            lambda: self._sign_once(body), SIGNING_RETRY, "iamcredentials.signBlob"
        )

    def _sign_once(self, body: dict[str, str]) -> bytes:
        started = time.monotonic()
        try:
            response = self._session.post(self._url, json=body, timeout=self._timeout)
        except requests.RequestException as error:
            raise StorageError(
                "The IAM Credentials API could not be reached to sign a URL; "
                "retry later.",
                code="SIGNING_FAILED",
                upstream=Upstream("iamcredentials", None, type(error).__name__),
            ) from error
        logger.info(
            "IAM signBlob -> %s",
            response.status_code,
            extra={
                "json_fields": {
                    "operation": "iamcredentials.signBlob",
                    "status": response.status_code,
                    "latency_ms": round((time.monotonic() - started) * 1000, 1),
                }
            },
        )
        if response.status_code in (HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN):
            raise ConfigurationError(
                f"Signing URLs as {self._email} was refused: grant the function's "
                "service account roles/iam.serviceAccountTokenCreator on that account.",
                code="SIGNING_PERMISSION",
                upstream=_upstream(response),
            )
        if response.status_code != HTTPStatus.OK:
            error_class = (
                StorageError
                if response.status_code in RETRYABLE_STATUS_CODES
                else SigningRejected
            )
            raise error_class(
                f"Signing a URL failed with {response.status_code}.",
                code="SIGNING_FAILED",
                upstream=_upstream(response),
            )
        return base64.b64decode(response.json()["signedBlob"])


class SigningRejected(StorageError):
    """signBlob refused the payload itself; repeating it cannot help."""

    outcome = Outcome.PERMANENT


def _upstream(response: requests.Response) -> Upstream:
    return Upstream("iamcredentials", response.status_code, redact(response.text[:300]))


def signed_url(
    client: storage.Client, signer: IamSigner, bucket: str, name: str, ttl_seconds: int
) -> str:
    """Return a V4 GET URL for ``gs://bucket/name`` valid for ``ttl_seconds``."""
    blob = client.bucket(bucket).blob(name)
    url: str = blob.generate_signed_url(
        version="v4",
        method="GET",
        expiration=datetime.timedelta(seconds=ttl_seconds),
        credentials=signer,
        api_access_endpoint=client.api_endpoint,
    )
    return url
