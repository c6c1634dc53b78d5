"""Errors the Earth Engine stand-in returns, in Earth Engine's own JSON shape.

Messages described as Earth Engine's are quoted from Earth Engine errors in public
bug reports. The rest use the wording of Google's API front end.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

MAX_REQUEST_BYTES = 10 * 1024 * 1024

_ERROR_INFO_TYPE = "type.googleapis.com/google.rpc.ErrorInfo"
_HELP_TYPE = "type.googleapis.com/google.rpc.Help"
_AUTH_HELP = (
    "Expected OAuth 2 access token, login cookie or other valid authentication"
    " credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."
)


class EEError(Exception):
    """An error sent to the client as `{"error": {"code", "message", "status"}}`.

    `status` is the canonical google.rpc code name that goes with the HTTP code,
    for example INVALID_ARGUMENT with 400 or PERMISSION_DENIED with 403.
    `details` are google.rpc detail messages, each with an `@type` key, and
    `headers` are extra response headers such as Retry-After.
    """

    def __init__(
        self,
        code: HTTPStatus | int,
        status: str,
        message: str,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = int(code)
        self.status = status
        self.message = message
        self.details = details or []
        self.headers = headers or {}

    def to_json(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "status": self.status,
        }
        if self.details:
            error["details"] = self.details
        return {"error": error}


def invalid_argument(message: str) -> EEError:
    """Return the 400 INVALID_ARGUMENT error that Earth Engine uses for bad input."""
    return EEError(HTTPStatus.BAD_REQUEST, "INVALID_ARGUMENT", message)


def invalid_json(reason: str) -> EEError:
    return invalid_argument(f"Invalid JSON payload received. {reason}")


def unknown_field(name: str) -> EEError:
    return invalid_json(f'Unknown name "{name}": Cannot find field.')


def payload_too_large() -> EEError:
    """Return Earth Engine's error for a request body over 10 MiB."""
    return invalid_argument(
        f"Request payload size exceeds the limit: {MAX_REQUEST_BYTES} bytes."
    )


def length_required() -> EEError:
    return EEError(
        HTTPStatus.LENGTH_REQUIRED,
        "INVALID_ARGUMENT",
        "A POST request requires a Content-Length header.",
    )


def method_not_found() -> EEError:
    return EEError(HTTPStatus.NOT_FOUND, "NOT_FOUND", "Method not found.")


def not_found(message: str) -> EEError:
    return EEError(HTTPStatus.NOT_FOUND, "NOT_FOUND", message)


def missing_credentials() -> EEError:
    return EEError(
        HTTPStatus.UNAUTHORIZED,
        "UNAUTHENTICATED",
        f"Request is missing required authentication credential. {_AUTH_HELP}",
        headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'},
    )


def invalid_credentials() -> EEError:
    return EEError(
        HTTPStatus.UNAUTHORIZED,
        "UNAUTHENTICATED",
        f"Request had invalid authentication credentials. {_AUTH_HELP}",
        headers={
            "WWW-Authenticate": (
                'Bearer realm="https://accounts.google.com/", error="invalid_token"'
            )
        },
    )


def project_not_registered(project: str) -> EEError:
    """Return Earth Engine's 403 for a Cloud project not registered for Earth Engine."""
    message = (
        f"Project {project} is not registered to use Earth Engine. Visit"
        f" https://code.earthengine.google.com/register?project={project} to register"
        " your project. See https://developers.google.com/earth-engine/guides/access"
        " for more details."
    )
    return EEError(HTTPStatus.FORBIDDEN, "PERMISSION_DENIED", message)


def api_disabled(project_number: str) -> EEError:
    """Return the 403 for a project where earthengine.googleapis.com is disabled."""
    console_url = (
        "https://console.developers.google.com/apis/api/earthengine.googleapis.com"
        f"/overview?project={project_number}"
    )
    message = (
        f"Google Earth Engine API has not been used in project {project_number}"
        f" before or it is disabled. Enable it by visiting {console_url} then retry."
        " If you enabled this API recently, wait a few minutes for the action to"
        " propagate to our systems and retry."
    )
    details = [
        _error_info("SERVICE_DISABLED", {"consumer": f"projects/{project_number}"}),
        {
            "@type": _HELP_TYPE,
            "links": [
                {
                    "description": "Google developers console API activation",
                    "url": console_url,
                }
            ],
        },
    ]
    return EEError(HTTPStatus.FORBIDDEN, "PERMISSION_DENIED", message, details)


def service_usage_denied(project: str) -> EEError:
    """Return the 403 for a caller without serviceusage.services.use on `project`."""
    iam_url = (
        f"https://console.developers.google.com/iam-admin/iam/project?project={project}"
    )
    message = (
        f"Caller does not have required permission to use project {project}."
        " Grant the caller the roles/serviceusage.serviceUsageConsumer role, or a"
        " custom role with the serviceusage.services.use permission, by visiting"
        f" {iam_url} and then retry. Propagation of the new permission may take a"
        " few minutes."
    )
    details = [
        _error_info("USER_PROJECT_DENIED", {"consumer": f"projects/{project}"}),
        {
            "@type": _HELP_TYPE,
            "links": [
                {"description": "Google developer console IAM admin", "url": iam_url}
            ],
        },
    ]
    return EEError(HTTPStatus.FORBIDDEN, "PERMISSION_DENIED", message, details)


def quota_exceeded(project_number: str, retry_after_seconds: int) -> EEError:
    """Return Earth Engine's 429 for a request-rate quota, with a Retry-After header."""
    message = (
        "Quota exceeded for quota metric 'Number of read requests' and limit"
        " 'Number of read requests per minute per user' of service"
        f" 'earthengine.googleapis.com' for consumer 'project_number:{project_number}'."
    )
    details = [
        _error_info("RATE_LIMIT_EXCEEDED", {"consumer": f"projects/{project_number}"})
    ]
    return EEError(
        HTTPStatus.TOO_MANY_REQUESTS,
        "RESOURCE_EXHAUSTED",
        message,
        details,
        headers={"Retry-After": str(retry_after_seconds)},
    )


def internal() -> EEError:
    return EEError(
        HTTPStatus.INTERNAL_SERVER_ERROR, "INTERNAL", "Internal error encountered."
    )


def unavailable() -> EEError:
    return EEError(
        HTTPStatus.SERVICE_UNAVAILABLE,
        "UNAVAILABLE",
        "The service is currently unavailable.",
    )


def _error_info(reason: str, metadata: dict[str, str]) -> dict[str, Any]:
    return {
        "@type": _ERROR_INFO_TYPE,
        "reason": reason,
        "domain": "googleapis.com",
        "metadata": {"service": "earthengine.googleapis.com", **metadata},
    }
