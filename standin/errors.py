"""Errors the Earth Engine stand-in returns, in Earth Engine's own JSON shape."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any


class EEError(Exception):
    """An error answered as `{"error": {"code", "message", "status"}}`.

    `status` is the canonical google.rpc code name that goes with the HTTP code,
    for example INVALID_ARGUMENT with 400 or PERMISSION_DENIED with 403.
    """

    def __init__(self, code: HTTPStatus | int, status: str, message: str) -> None:
        super().__init__(message)
        self.code = int(code)
        self.status = status
        self.message = message

    def to_json(self) -> dict[str, Any]:
        return {
            "error": {"code": self.code, "message": self.message, "status": self.status}
        }


def invalid_argument(message: str) -> EEError:
    """Return the 400 INVALID_ARGUMENT error that Earth Engine uses for bad input."""
    return EEError(HTTPStatus.BAD_REQUEST, "INVALID_ARGUMENT", message)
