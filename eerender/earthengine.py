"""Earth Engine REST client: thumbnails.create and getPixels as the function itself.

Credentials come from ``google.auth.default()`` (the runtime service account on Cloud
Functions). A fixed token is sent only when EE_STATIC_TOKEN names one for a local
stand-in; missing real credentials never fall back to it.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import google.auth
import google.auth.exceptions
import requests
from google.auth.credentials import Credentials
from google.auth.transport.requests import AuthorizedSession
from google.oauth2.credentials import Credentials as TokenCredentials
from requests.adapters import HTTPAdapter

from eerender.config import Settings
from eerender.errors import (
    ComputationTooLarge,
    ConfigurationError,
    InvalidRequest,
    RenderError,
    ThumbnailExpired,
    Upstream,
    UpstreamBusy,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from eerender.logs import redact
from eerender.retry import RETRYABLE_STATUS_CODES, RetryPolicy, call_with_retry

logger = logging.getLogger(__name__)

EARTH_ENGINE_SCOPE = "https://www.googleapis.com/auth/earthengine"
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
SERVICE = "earthengine"
USER_AGENT = "eerender/1.0"
MAX_ERROR_BODY_BYTES = 64 * 1024
# Connections kept per host: functions gen2 serves many requests at once per instance.
POOL_SIZE = 64
# Seconds a read may wait even when the deadline is nearly spent, so the last attempt
# still has a chance to succeed.
MIN_READ_TIMEOUT = 1.0


@dataclass(frozen=True)
class PixelResponse:
    """An open getPixels response whose body has not been read yet."""

    response: requests.Response
    content_type: str
    content_length: int | None


def load_credentials(settings: Settings) -> Credentials:
    """Return the credentials the configuration names, or raise ConfigurationError."""
    if settings.ee_static_token:
        return TokenCredentials(token=settings.ee_static_token)  # type: ignore[no-untyped-call]
    try:
        credentials, _ = google.auth.default(
            scopes=[EARTH_ENGINE_SCOPE, CLOUD_PLATFORM_SCOPE]
        )
    except google.auth.exceptions.DefaultCredentialsError as error:
        raise ConfigurationError(
            "No Google credentials were found for Earth Engine calls. Deployed "
            "functions use their runtime service account; for a local stand-in set "
            "EE_STATIC_TOKEN and point EE_API_URL at it.",
            code="CREDENTIALS_MISSING",
        ) from error
    return credentials


def build_session(settings: Settings) -> requests.Session:
    """Build an AuthorizedSession whose connection pool suits concurrent requests."""
    session = AuthorizedSession(load_credentials(settings))  # type: ignore[no-untyped-call]
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=POOL_SIZE, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


class EarthEngineClient:
    """Calls Earth Engine's REST API for one project. Safe to share between threads."""

    def __init__(
        self, settings: Settings, session: requests.Session | None = None
    ) -> None:
        self._settings = settings
        self._session = session or build_session(settings)
        self._timeout = (settings.ee_connect_timeout, settings.ee_read_timeout)
        self._base = f"{settings.ee_api_url}/{settings.ee_api_version}"

    @property
    def session(self) -> requests.Session:
        return self._session

    def retry_policy(self, deadline: float | None = None) -> RetryPolicy:
        return RetryPolicy(
            max_attempts=self._settings.ee_max_attempts,
            deadline=self._settings.ee_deadline if deadline is None else deadline,
        )

    def create_thumbnail(
        self, body: dict[str, Any], deadline: float | None = None
    ) -> str:
        """Create a thumbnail and return its resource name, retrying transient failures.

        Creating twice is harmless (each call only mints a new id), so time-outs and
        resets are retried as well as 429 and 5xx responses.
        """
        project = quote(self._settings.ee_project, safe="")
        parent = f"projects/{project}"
        if self._settings.ee_location:
            parent += f"/locations/{quote(self._settings.ee_location, safe='')}"
        url = f"{self._base}/{parent}/thumbnails"
        params = {"fields": "name"}
        if self._settings.ee_workload_tag:
            params["workloadTag"] = self._settings.ee_workload_tag

        policy = self.retry_policy(deadline)
        ends_at = time.monotonic() + policy.deadline

        def attempt() -> str:
            response = self._send(
                "POST", url, "thumbnails.create", ends_at, params=params, json=body
            )
            return _thumbnail_name(response)

        return call_with_retry(attempt, policy, "thumbnails.create")

    def pixel_url(self, name: str) -> str:
        """Return the getPixels URL, with ``key=`` when an API key is configured."""
        url = f"{self._base}/{name}:getPixels"
        if self._settings.ee_api_key:
            url += f"?key={quote(self._settings.ee_api_key, safe='')}"
        return url

    def open_pixels(self, name: str, deadline: float | None = None) -> PixelResponse:
        """Start downloading a thumbnail's pixels; the caller reads and closes the body.

        Retries cover the time until the response headers arrive. A failure while the
        body streams is the caller's to handle, because only the caller can tell what it
        wrote.
        """
        url = f"{self._base}/{name}:getPixels"

        policy = self.retry_policy(deadline)
        ends_at = time.monotonic() + policy.deadline

        def attempt() -> PixelResponse:
            response = self._send(
                "GET", url, "thumbnails.getPixels", ends_at, stream=True
            )
            length = response.headers.get("Content-Length")
            return PixelResponse(
                response=response,
                content_type=response.headers.get("Content-Type", ""),
                content_length=int(length) if length and length.isdigit() else None,
            )

        return call_with_retry(attempt, policy, "thumbnails.getPixels")

    def _send(
        self, method: str, url: str, operation: str, ends_at: float, **kwargs: Any
    ) -> requests.Response:
        headers = {
            "X-Goog-User-Project": self._settings.ee_project,
            "User-Agent": USER_AGENT,
        }
        started = time.monotonic()
        # A read may not outlast the render's deadline: the platform would end the
        # request first, with no response of ours.
        read_timeout = min(self._timeout[1], max(MIN_READ_TIMEOUT, ends_at - started))
        timeout = (self._timeout[0], read_timeout)
        try:
            response = self._session.request(
                method, url, headers=headers, timeout=timeout, **kwargs
            )
        except requests.Timeout as error:
            self._log(operation, url, None, started, error=type(error).__name__)
            raise UpstreamTimeout(
                f"Earth Engine {operation} timed out (connect {timeout[0]:g} s, read "
                f"{timeout[1]:g} s). Retry later or ask for a smaller image.",
                upstream=Upstream(SERVICE, None, type(error).__name__),
            ) from error
        except requests.ConnectionError as error:
            self._log(operation, url, None, started, error=type(error).__name__)
            raise UpstreamUnavailable(
                f"Earth Engine {operation} could not be reached: the connection failed "
                "or was reset. Retry later.",
                upstream=Upstream(SERVICE, None, redact(str(error))[:300]),
            ) from error
        except requests.RequestException as error:
            # A body cut off before its Content-Length: requests reads it inside
            # request() and raises ChunkedEncodingError, which is safe to retry.
            self._log(operation, url, None, started, error=type(error).__name__)
            raise UpstreamError(
                f"Earth Engine {operation} sent an incomplete response: "
                f"{type(error).__name__}. Retry later.",
                code="EE_UPSTREAM_ERROR",
                upstream=Upstream(SERVICE, None, redact(str(error))[:300]),
            ) from error
        except google.auth.exceptions.RefreshError as error:
            raise ConfigurationError(
                "The function's credentials could not be refreshed for Earth Engine: "
                f"{redact(str(error))[:300]}",
                code="EE_UNAUTHENTICATED",
            ) from error

        self._log(operation, url, response.status_code, started)
        if response.status_code != HTTPStatus.OK:
            failure = translate_error(
                response, operation, self._settings.ee_project, self._identity()
            )
            response.close()
            raise failure
        return response

    def _identity(self) -> str | None:
        """The service account the calls run as, when the credentials name it.

        Compute Engine credentials learn their email on the first token refresh, which
        has happened by the time an error response is being translated.
        """
        credentials = getattr(self._session, "credentials", None)
        email = getattr(credentials, "service_account_email", None)
        return email if isinstance(email, str) and "@" in email else None

    def _log(
        self,
        operation: str,
        url: str,
        status: int | None,
        started: float,
        error: str | None = None,
    ) -> None:
        fields: dict[str, Any] = {
            "operation": operation,
            "url": redact(url),
            "status": status,
            "latency_ms": round((time.monotonic() - started) * 1000, 1),
        }
        if error:
            fields["error"] = error
        logger.info(
            "Earth Engine %s -> %s",
            operation,
            status or error,
            extra={"json_fields": fields},
        )


def _thumbnail_name(response: requests.Response) -> str:
    try:
        name = response.json()["name"]
    except (ValueError, KeyError, TypeError) as error:
        raise UpstreamError(
            "Earth Engine thumbnails.create returned no thumbnail name.",
            upstream=Upstream(SERVICE, response.status_code, response.text[:300]),
        ) from error
    if not isinstance(name, str) or "/thumbnails/" not in name:
        raise UpstreamError(
            f"Earth Engine returned an unexpected thumbnail name {name!r}.",
            upstream=Upstream(SERVICE, response.status_code, str(name)[:300]),
        )
    return name


def _read_error(response: requests.Response) -> tuple[str, str | None]:
    """Return EE's error message and status name, reading at most 64 KiB of the body."""
    body = bytearray()
    for chunk in response.iter_content(8192):
        body += chunk
        if len(body) >= MAX_ERROR_BODY_BYTES:
            break
    text = body.decode("utf-8", errors="replace")
    try:
        error = json.loads(text)["error"]
        return str(error.get("message") or response.reason), error.get("status")
    except (ValueError, KeyError, TypeError, AttributeError):
        return (text.strip()[:500] or response.reason or "no message"), None


def translate_error(
    response: requests.Response,
    operation: str,
    project: str,
    identity: str | None = None,
) -> RenderError:
    """Turn an Earth Engine error response into this product's error, with EE's text."""
    message, status_name = _read_error(response)
    status = response.status_code
    upstream = Upstream(SERVICE, status, redact(message), status_name)
    lowered = message.lower()

    if status == HTTPStatus.TOO_MANY_REQUESTS or "too many concurrent" in lowered:
        return UpstreamBusy(
            f"Earth Engine is at its quota or concurrency limit ({operation}). "
            "Retry after the given delay.",
            upstream=upstream,
            retry_after=retry_after_seconds(response),
            http_status=HTTPStatus.TOO_MANY_REQUESTS,
        )
    if status in (HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN):
        return _permission_error(status, lowered, project, upstream, identity)
    if status == HTTPStatus.NOT_FOUND and operation == "thumbnails.getPixels":
        return ThumbnailExpired(
            "The Earth Engine thumbnail id expired or is unknown; render again.",
            upstream=upstream,
        )
    if status in (HTTPStatus.BAD_REQUEST, HTTPStatus.NOT_FOUND):
        return _invalid_argument(message, upstream)
    if status == HTTPStatus.SERVICE_UNAVAILABLE:
        return UpstreamUnavailable(
            f"Earth Engine is unavailable ({operation}). Retry later.",
            upstream=upstream,
            retry_after=retry_after_seconds(response),
        )
    if status == HTTPStatus.GATEWAY_TIMEOUT:
        return UpstreamTimeout(
            f"Earth Engine timed out ({operation}).", upstream=upstream
        )
    if status in RETRYABLE_STATUS_CODES or status >= 500:
        return UpstreamError(
            f"Earth Engine failed with {status} ({operation}). Retry later.",
            code="EE_UPSTREAM_ERROR",
            upstream=upstream,
        )
    return UpstreamError(
        f"Earth Engine returned an unexpected {status} to {operation}.",
        code="EE_UNEXPECTED_STATUS",
        upstream=upstream,
    )


def retry_after_seconds(response: requests.Response) -> float | None:
    """Return the Retry-After header in seconds; None when absent or an HTTP date."""
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


# Earth Engine's 400 messages that this product answers with its own codes, so callers
# can tell "ask for less" from "fix the expression".
_INVALID_ARGUMENT_CODES = (
    ("total request size", "REQUEST_TOO_LARGE", InvalidRequest),
    ("pixel grid dimensions", "DIMENSIONS_TOO_LARGE", InvalidRequest),
    ("cannot provide a palette", "PALETTE_NEEDS_SINGLE_BAND", InvalidRequest),
    ("user memory limit exceeded", "COMPUTATION_TOO_LARGE", ComputationTooLarge),
    ("computation timed out", "COMPUTATION_TOO_LARGE", ComputationTooLarge),
    ("not found", "ASSET_NOT_FOUND", InvalidRequest),
)


def _invalid_argument(message: str, upstream: Upstream) -> RenderError:
    lowered = message.lower()
    for needle, code, error_class in _INVALID_ARGUMENT_CODES:
        if needle in lowered:
            hint = (
                " Ask for a smaller region, fewer images or a coarser output."
                if error_class is ComputationTooLarge
                else ""
            )
            return error_class(
                f"Earth Engine rejected the request: {message}{hint}",
                code=code,
                upstream=upstream,
            )
    return InvalidRequest(
        f"Earth Engine rejected the expression: {message}",
        code="EE_INVALID_ARGUMENT",
        field="/expression",
        upstream=upstream,
    )


def _permission_error(
    status: int,
    lowered: str,
    project: str,
    upstream: Upstream,
    identity: str | None = None,
) -> ConfigurationError:
    if status == HTTPStatus.UNAUTHORIZED:
        code, fix = "EE_UNAUTHENTICATED", "the function's credentials were not accepted"
    elif "not registered" in lowered or "not signed up" in lowered:
        code = "EE_NOT_AUTHORIZED"
        fix = (
            f"project {project} is not registered for Earth Engine; register it at "
            f"https://code.earthengine.google.com/register?project={project}"
        )
    elif "has not been used" in lowered or "disabled" in lowered:
        code = "EE_API_DISABLED"
        fix = f"enable earthengine.googleapis.com in project {project}"
    elif "serviceusage" in lowered or "permission to use project" in lowered:
        code = "EE_PERMISSION"
        fix = (
            "grant the function's service account "
            f"roles/serviceusage.serviceUsageConsumer on project {project}"
        )
    else:
        code = "EE_PERMISSION"
        fix = (
            "grant the function's service account a role with "
            f"earthengine.thumbnails.create on project {project}"
        )
    caller = f" (the function runs as {identity})" if identity else ""
    return ConfigurationError(
        f"Earth Engine refused the call{caller}: {fix}. New grants can take a few "
        "minutes.",
        code=code,
        upstream=upstream,
    )
