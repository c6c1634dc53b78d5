"""V4 signed URLs for stored renders, signed by the IAM Credentials API (no key file).

The function's own service account signs through ``signBlob``; it needs
``roles/iam.serviceAccountTokenCreator`` on itself. The endpoint is configuration, so a
local stand-in can sign for tests.
"""

from __future__ import annotations

import base64
import datetime
import logging
from http import HTTPStatus
from urllib.parse import quote

import requests
from google.auth import credentials as auth_credentials
from google.cloud import storage

from eerender.config import Settings
from eerender.errors import ConfigurationError, StorageError, Upstream

logger = logging.getLogger(__name__)


class IamSigner(auth_credentials.Signing):
    """Signs bytes with a service account's Google-managed key through signBlob."""

    def __init__(self, settings: Settings, session: requests.Session) -> None:
        self._email = settings.signed_url_service_account
        self._session = session
        self._url = (
            f"{settings.iam_credentials_url}/v1/projects/-/serviceAccounts/"
            f"{quote(self._email, safe='@')}:signBlob"
        )
        self._timeout = (settings.ee_connect_timeout, 30.0)

    @property
    def signer_email(self) -> str:
        return self._email

    @property
    def signer(self) -> IamSigner:
        return self

    def sign_bytes(self, message: bytes | str) -> bytes:
        payload = message.encode() if isinstance(message, str) else message
        body = {"payload": base64.b64encode(payload).decode("ascii")}
        try:
            response = self._session.post(self._url, json=body, timeout=self._timeout)
        except requests.RequestException as error:
            raise StorageError(
                "The IAM Credentials API could not be reached to sign a URL; "
                "retry later.",
                code="SIGNING_FAILED",
                upstream=Upstream("iamcredentials", None, type(error).__name__),
            ) from error
        if response.status_code in (HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN):
            raise ConfigurationError(
                f"Signing URLs as {self._email} was refused: grant the function's "
                "service account roles/iam.serviceAccountTokenCreator on that account.",
                code="SIGNING_PERMISSION",
                upstream=Upstream(
                    "iamcredentials", response.status_code, response.text[:300]
                ),
            )
        if response.status_code != HTTPStatus.OK:
            raise StorageError(
                f"Signing a URL failed with {response.status_code}; retry later.",
                code="SIGNING_FAILED",
                upstream=Upstream(
                    "iamcredentials", response.status_code, response.text[:300]
                ),
            )
        return base64.b64decode(response.json()["signedBlob"])


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
