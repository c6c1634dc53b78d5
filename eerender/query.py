"""Turn a GET query string into a request object for ``parse_render_request``.

Query values are text, so this module gives each known parameter its JSON type:
numbers for ``scale`` and the stretch values, lists for comma-separated bands, decoded
JSON for ``expression``, ``region``, ``grid`` and the other structured fields. Fields it
does not know are passed through as text for the request checks to name, or, when the
query names a ``recipe``, as text parameters of that recipe.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import Any

from eerender.recipes import RECIPE_FIELD, params_from_query
from eerender.validation import excerpt, invalid, pointer

_JSON_FIELDS = ("expression", "visualizationOptions", "grid", "destination")
_NUMBER_FIELDS = ("scale", "opacity")
_NUMBER_LIST_FIELDS = ("min", "max", "gain", "bias", "gamma")
_NAME_LIST_FIELDS = ("bands", "bandIds")
_BOOLEAN_FIELDS = ("forceRgbOutput", "signedUrl")
_DESTINATION_FIELDS = {"destination.bucket": "bucket", "destination.object": "object"}
# The whole request as base64url JSON, for links too complex for plain parameters.
WHOLE_REQUEST_PARAMETER = "request"
_INTEGER = re.compile(r"[+-]?[0-9]+")
_TRUE = ("true", "1", "yes")
_FALSE = ("false", "0", "no")


def request_from_query(args: Mapping[str, list[str]]) -> dict[str, Any]:
    """Return the request object a GET query string describes.

    Args:
        args: Each parameter with its values, as ``urllib.parse.parse_qs`` returns
            them. A parameter may appear once.

    Raises:
        InvalidRequest: For repeated parameters and values that cannot be read.
    """
    request: dict[str, Any] = {}
    destination: dict[str, str] = {}
    whole = args.get(WHOLE_REQUEST_PARAMETER)
    plain = {
        name: values for name, values in args.items() if name != WHOLE_REQUEST_PARAMETER
    }
    for name, values in plain.items():
        field = pointer(name)
        if len(values) != 1:
            raise invalid(
                f"Query parameter {name!r} appears {len(values)} times; give it once "
                "(lists are comma-separated, for example bands=B4,B3,B2).",
                field,
                values,
            )
        value = values[0]
        if name in _DESTINATION_FIELDS:
            destination[_DESTINATION_FIELDS[name]] = value
        else:
            request[name] = _typed(name, value, field)
    if destination:
        if "destination" in request:
            raise invalid(
                "Send destination either as JSON or as destination.bucket and "
                "destination.object, not both.",
                "/destination",
                request["destination"],
            )
        request["destination"] = destination
    if whole is not None:
        request = _merge(_decode_whole_request(whole), request)
    if RECIPE_FIELD in request:
        return params_from_query(request)
    return request


def _decode_whole_request(values: list[str]) -> dict[str, Any]:
    field = pointer(WHOLE_REQUEST_PARAMETER)
    if len(values) != 1:
        raise invalid(
            "Query parameter 'request' appears more than once.", field, values
        )
    text = values[0].strip()
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), b"-_", validate=True)
    except (binascii.Error, ValueError) as error:
        raise invalid(
            "Query parameter 'request' is not base64url; encode the request JSON with "
            "the URL-safe base64 alphabet (padding optional).",
            field,
            text,
            code="INVALID_BASE64",
        ) from error
    try:
        decoded = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise invalid(
            "Query parameter 'request' does not decode to UTF-8 JSON.",
            field,
            text,
            code="INVALID_JSON",
        ) from error
    if not isinstance(decoded, dict):
        raise invalid(
            "Query parameter 'request' must encode a JSON object.", field, text
        )
    return decoded


def _merge(whole: dict[str, Any], plain: dict[str, Any]) -> dict[str, Any]:
    """Plain parameters add to the encoded request but may not contradict it."""
    for name in plain.keys() & whole.keys():
        raise invalid(
            f"{name!r} is given both inside 'request' and as a query parameter; "
            "give it once.",
            pointer(name),
            plain[name],
        )
    return {**whole, **plain}


def _typed(name: str, value: str, field: str) -> Any:
    if name in _JSON_FIELDS:
        return _json(value, field)
    if name == "region":
        return _region(value, field)
    if name in _NUMBER_FIELDS:
        return _number(value, field)
    if name in _NUMBER_LIST_FIELDS:
        items = [_number(item, field) for item in value.split(",")]
        return items[0] if len(items) == 1 else items
    if name in _NAME_LIST_FIELDS:
        return [item.strip() for item in value.split(",")]
    if name in _BOOLEAN_FIELDS:
        return _boolean(value, field)
    return value


def _json(value: str, field: str) -> Any:
    try:
        return json.loads(value)
    except (ValueError, RecursionError):
        raise invalid(
            f"Query parameter {field[1:]} must be JSON, got {excerpt(value)}.",
            field,
            value,
        ) from None


def _region(value: str, field: str) -> Any:
    stripped = value.strip()
    if stripped.startswith(("[", "{")):
        return _json(stripped, field)
    # A bare "west,south,east,north" box.
    return [_number(item, field) for item in stripped.split(",")]


def _number(value: str, field: str) -> int | float:
    text = value.strip()
    try:
        # int() raises ValueError past 4300 digits, like float() on non-numbers.
        return int(text) if _INTEGER.fullmatch(text) else float(text)
    except ValueError:
        raise invalid(
            f"Query parameter {field[1:]} must be a number, got {excerpt(value)}.",
            field,
            value,
        ) from None


def _boolean(value: str, field: str) -> bool:
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise invalid(
        f"Query parameter {field[1:]} must be true or false, got {excerpt(value)}.",
        field,
        value,
    )
