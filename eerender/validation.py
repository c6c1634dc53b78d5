"""Small checks shared by every part of the request parser.

Each check raises ``InvalidRequest`` with a JSON pointer to the field at fault, the
value, and a message that says what to send instead.
"""

from __future__ import annotations

import math
import reprlib
from typing import Any

from eerender.errors import InvalidRequest

# reprlib bounds both the nesting level and the length it renders, so a hostile
# 10 MiB value cannot make an error message huge or exhaust the stack.
_EXCERPT = reprlib.Repr()
_EXCERPT.maxlevel = 3
_EXCERPT.maxlist = 6
_EXCERPT.maxdict = 6
_EXCERPT.maxstring = 60
_EXCERPT.maxother = 60


def excerpt(value: Any) -> str:
    """Return a short, bounded rendering of ``value`` for messages."""
    return _EXCERPT.repr(value)


def pointer(*tokens: str | int) -> str:
    """Return the JSON pointer (RFC 6901) made of ``tokens``."""
    escaped = (str(token).replace("~", "~0").replace("/", "~1") for token in tokens)
    return "".join("/" + token for token in escaped)


def child(parent: str, *tokens: str | int) -> str:
    """Return the JSON pointer of a member below ``parent``."""
    return parent + pointer(*tokens)


def invalid(
    message: str,
    field: str,
    value: Any,
    *,
    code: str = "INVALID_REQUEST",
    limit: Any = None,
) -> InvalidRequest:
    """Build the error for one rejected field; the caller raises it."""
    return InvalidRequest(
        message, code=code, field=field, value=excerpt(value), limit=limit
    )


def is_number(value: object) -> bool:
    """Tell whether ``value`` is a JSON number (booleans are not numbers here)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def number(value: object, field: str, *, code: str = "INVALID_REQUEST") -> float:
    """Return ``value`` if it is a finite number; raise otherwise."""
    if not is_number(value):
        raise invalid(
            f"{field} must be a number, got {excerpt(value)}.", field, value, code=code
        )
    if not math.isfinite(value):  # type: ignore[arg-type]
        raise invalid(
            f"{field} must be a finite number, got {value}; NaN and Infinity are "
            "not accepted.",
            field,
            value,
            code=code,
        )
    return value  # type: ignore[return-value]


def positive_number(
    value: object, field: str, *, code: str = "INVALID_REQUEST"
) -> float:
    """Return ``value`` if it is a finite number above zero; raise otherwise."""
    checked = number(value, field, code=code)
    if checked <= 0:
        raise invalid(
            f"{field} must be greater than 0, got {checked}.", field, value, code=code
        )
    return checked


def positive_integer(
    value: object, field: str, *, code: str = "INVALID_REQUEST"
) -> int:
    """Return ``value`` as an int if it is a whole number above zero."""
    checked = positive_number(value, field, code=code)
    if checked != int(checked):
        raise invalid(
            f"{field} must be a whole number of pixels, got {checked}.",
            field,
            value,
            code=code,
        )
    return int(checked)


def text(value: object, field: str, *, code: str = "INVALID_REQUEST") -> str:
    """Return ``value`` if it is a non-empty string; raise otherwise."""
    if not isinstance(value, str) or not value.strip():
        raise invalid(
            f"{field} must be a non-empty string, got {excerpt(value)}.",
            field,
            value,
            code=code,
        )
    return value


def boolean(value: object, field: str) -> bool:
    """Return ``value`` if it is a JSON boolean; raise otherwise."""
    if not isinstance(value, bool):
        raise invalid(
            f"{field} must be true or false, got {excerpt(value)}.", field, value
        )
    return value


def json_object(value: object, field: str) -> dict[str, Any]:
    """Return ``value`` if it is a JSON object; raise otherwise."""
    if not isinstance(value, dict):
        raise invalid(
            f"{field} must be a JSON object, got {type(value).__name__} "
            f"{excerpt(value)}.",
            field,
            value,
        )
    return value


def known_keys(
    value: dict[str, Any],
    accepted: tuple[str, ...],
    field: str,
    *,
    code: str = "INVALID_REQUEST",
    hint: str = "",
) -> None:
    """Reject members of ``value`` that are not in ``accepted``, naming them all.

    Typos must not pass silently, so an unknown member is an error, never ignored.
    """
    unknown = sorted(key for key in value if key not in accepted)
    if unknown:
        where = field or "the request"
        raise invalid(
            f"Unknown field(s) {', '.join(unknown)} in {where}. Accepted fields: "
            f"{', '.join(accepted)}.{hint}",
            child(field, unknown[0]),
            unknown,
            code=code,
        )


def numbers_csv(value: str, field: str) -> list[float]:
    """Parse a comma-separated list of finite numbers such as ``"0,0,0"``."""
    items = [item.strip() for item in value.split(",")]
    parsed: list[float] = []
    for item in items:
        try:
            number_value = float(item)
        except ValueError:
            raise invalid(
                f"{field} must be a number, a list of numbers or a comma-separated "
                f"string of numbers; {item!r} in {value!r} is not a number.",
                field,
                value,
            ) from None
        parsed.append(number(number_value, field))
    return parsed
