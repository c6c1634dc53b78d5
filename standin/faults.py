"""Faults injected on demand, so that clients can be tested against a failing service.

A fault is queued with `POST /_standin/faults` for the next `count` requests to one
API method (or to any, with `*`), or applied to a single request through the
`X-Standin-Fault: <kind>[;delay=S][;retry_after=S]` header. The kinds:

- `429`: Earth Engine's quota error with a Retry-After header (default 1 s).
- `500`, `503`: Google's INTERNAL and UNAVAILABLE errors.
- `slow`: sleep `delay_seconds` (default 2 s), then respond as usual.
- `reset`: close the connection with a TCP RST before responding.
- `truncate`: send the full Content-Length but only half the body, then close.
- `expired`: on thumbnails.getPixels only, drop the id and respond as if expired.

Faults apply after authentication, so a request without a token leaves them queued.
The `*` method matches every Earth Engine API method but not discovery.
"""

from __future__ import annotations

import socket
import struct
import threading
from dataclasses import asdict, dataclass
from typing import Any

from standin import errors

FAULT_HEADER = "X-Standin-Fault"

QUOTA = "429"
INTERNAL = "500"
UNAVAILABLE = "503"
SLOW = "slow"
RESET = "reset"
TRUNCATE = "truncate"
EXPIRED = "expired"
FAULT_KINDS = (QUOTA, INTERNAL, UNAVAILABLE, SLOW, RESET, TRUNCATE, EXPIRED)

ANY_METHOD = "*"
GET_PIXELS = "thumbnails.getPixels"
FAULT_METHODS = (
    "thumbnails.create",
    GET_PIXELS,
    "image.computePixels",
    "value.compute",
    "algorithms.list",
    "projects.getConfig",
    ANY_METHOD,
)

DEFAULT_DELAY_SECONDS = 2.0
DEFAULT_RETRY_AFTER_SECONDS = 1
# Bounds that catch typos, such as a delay that would park a server thread for hours.
MAX_DELAY_SECONDS = 600
MAX_RETRY_AFTER = 3600
MAX_COUNT = 100_000


@dataclass
class Fault:
    """One kind of failure and the requests it still applies to."""

    fault: str
    method: str = ANY_METHOD
    count: int = 1
    delay_seconds: float = DEFAULT_DELAY_SECONDS
    retry_after: int = DEFAULT_RETRY_AFTER_SECONDS

    def matches(self, api_method: str) -> bool:
        if self.method not in (ANY_METHOD, api_method):
            return False
        # Only a thumbnail id can expire.
        return self.fault != EXPIRED or api_method == GET_PIXELS

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class FaultQueue:
    """Thread-safe list of pending faults, used first-in first-out."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[Fault] = []

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._pending.append(fault)

    def take(self, api_method: str) -> Fault | None:
        """Return the oldest fault that matches `api_method` and use up one count."""
        with self._lock:
            for fault in self._pending:
                if fault.matches(api_method):
                    fault.count -= 1
                    if fault.count <= 0:
                        self._pending.remove(fault)
                    return fault
        return None

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [fault.to_json() for fault in self._pending]

    def clear(self) -> None:
        with self._lock:
            self._pending.clear()


def parse_fault_request(payload: object) -> Fault:
    """Build a Fault from the JSON body of `POST /_standin/faults`.

    Raises:
        EEError: 400 naming the invalid field.
    """
    if not isinstance(payload, dict):
        raise errors.invalid_argument("The fault request must be a JSON object.")
    unknown = sorted(
        set(payload) - {"method", "fault", "count", "delay_seconds", "retry_after"}
    )
    if unknown:
        raise errors.unknown_field(unknown[0])

    fault = Fault(
        fault=_choice(payload, "fault", FAULT_KINDS, None),
        method=_choice(payload, "method", FAULT_METHODS, ANY_METHOD),
        count=int(_number(payload, "count", 1, 1, MAX_COUNT)),
        delay_seconds=_number(
            payload, "delay_seconds", DEFAULT_DELAY_SECONDS, 0, MAX_DELAY_SECONDS
        ),
        retry_after=int(
            _number(
                payload, "retry_after", DEFAULT_RETRY_AFTER_SECONDS, 0, MAX_RETRY_AFTER
            )
        ),
    )
    _check_applicable(fault)
    return fault


def parse_fault_header(value: str) -> Fault:
    """Build a one-request Fault from an `X-Standin-Fault` header value.

    Raises:
        EEError: 400 naming the invalid part of the header.
    """
    kind, *parameters = [part.strip() for part in value.split(";")]
    payload: dict[str, Any] = {"fault": kind}
    for parameter in parameters:
        key, separator, number = parameter.partition("=")
        names = {"delay": "delay_seconds", "retry_after": "retry_after"}
        if not separator or key not in names:
            raise errors.invalid_argument(
                f"Invalid {FAULT_HEADER} parameter {parameter!r}: expected"
                " delay=SECONDS or retry_after=SECONDS."
            )
        try:
            payload[names[key]] = float(number)
        except ValueError:
            raise errors.invalid_argument(
                f"Invalid {FAULT_HEADER} parameter {parameter!r}: not a number."
            ) from None
    return parse_fault_request(payload)


def reset_connection(connection: socket.socket) -> None:
    """Make the next close of `connection` send a TCP RST instead of a FIN.

    With SO_LINGER on and a zero timeout, the kernel drops unsent data and resets
    the connection when the last reference to the socket is closed.
    """
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def _check_applicable(fault: Fault) -> None:
    if fault.fault == EXPIRED and fault.method not in (GET_PIXELS, ANY_METHOD):
        raise errors.invalid_argument(
            f"The fault {EXPIRED!r} applies only to method {GET_PIXELS!r}, not"
            f" {fault.method!r}."
        )


def _choice(
    payload: dict[str, Any], key: str, allowed: tuple[str, ...], default: str | None
) -> str:
    value = payload.get(key, default)
    if value not in allowed:
        raise errors.invalid_argument(
            f"Invalid {key} {value!r}: expected one of {', '.join(allowed)}."
        )
    return str(value)


def _number(
    payload: dict[str, Any], key: str, default: float, minimum: float, maximum: float
) -> float:
    value = payload.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise errors.invalid_argument(f"Invalid {key} {value!r}: expected a number.")
    if not minimum <= value <= maximum:
        raise errors.invalid_argument(
            f"Invalid {key} {value!r}: expected a number from {minimum} to {maximum}."
        )
    return float(value)
