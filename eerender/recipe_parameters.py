"""Typed recipe parameters: read, checked against their bounds, and turned into values.

A parameter value arrives as JSON (``{"params": {"bbox": [10, 45, 11, 46]}}``) or as
text (``bbox=10,45,11,46`` in a query string or a chat command); every type reads both.
A checked value has two forms: an Earth Engine value for the expression slots
(``node``) and plain JSON for the render fields such as ``region`` or ``palette``
(``plain``).
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Mapping
from typing import Any, ClassVar

from eerender.errors import InvalidRequest
from eerender.expression import Value, invoke
from eerender.palette import normalize_palette
from eerender.region import parse_region

# Metres in one degree of latitude, and of longitude at the equator, on a sphere of the
# Earth's mean radius (6371008.8 m). Bounds of a circle computed with it are an
# estimate, close enough to frame a thumbnail.
METRES_PER_DEGREE = 2 * math.pi * 6371008.8 / 360
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_RANGE_SEPARATORS = ("/", "..")


class Rejected(ValueError):
    """A value the parameter type does not accept; the message gives the reason."""


class ParameterType:
    """Base class: one kind of parameter and the bounds its recipe file sets."""

    kind: ClassVar[str]
    # Recipe-file keys the type reads besides type, description and default.
    bounds: ClassVar[tuple[str, ...]] = ()

    def __init__(self, spec: Mapping[str, Any]) -> None:
        self.spec = spec

    def parse(self, value: object) -> Any:
        """Return the checked value; raise Rejected saying what is wrong."""
        raise NotImplementedError

    def node(self, value: Any) -> Value:
        """Return the value as it goes into an expression slot."""
        return value

    def plain(self, value: Any) -> Any:
        """Return the value as JSON for a render field."""
        return value

    def show(self, value: Any) -> str:
        """Return the value as a user would type it in a chat command."""
        return str(value)

    def allowed(self) -> str:
        """Describe the accepted values, bounds included."""
        raise NotImplementedError


def _number(value: object, what: str) -> float:
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise Rejected(f"{what} {value!r} is not a number") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Rejected(f"{what} must be a number, not {type(value).__name__}")
    if not math.isfinite(value):
        raise Rejected(f"{what} must be a finite number")
    return value


def _whole_if_possible(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _numbers(value: object, count: int, what: str) -> list[float]:
    items: Any = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list) or len(items) != count:
        raise Rejected(f"{what} needs {count} numbers")
    return [_number(item, what) for item in items]


def _format_number(value: float) -> str:
    return f"{value:g}"


class NumberType(ParameterType):
    kind = "number"
    bounds = ("minimum", "maximum", "integer")

    def __init__(self, spec: Mapping[str, Any]) -> None:
        super().__init__(spec)
        for name in ("minimum", "maximum"):
            if spec.get(name) is not None:
                _number(spec[name], name)

    def parse(self, value: object) -> int | float:
        number = _number(value, "the value")
        if self.spec.get("integer") and not float(number).is_integer():
            raise Rejected("a whole number is required")
        minimum, maximum = self.spec.get("minimum"), self.spec.get("maximum")
        if minimum is not None and number < minimum:
            raise Rejected(f"{_format_number(number)} is below the minimum {minimum}")
        if maximum is not None and number > maximum:
            raise Rejected(f"{_format_number(number)} is above the maximum {maximum}")
        return _whole_if_possible(number)

    def show(self, value: Any) -> str:
        return _format_number(value)

    def allowed(self) -> str:
        kind = "a whole number" if self.spec.get("integer") else "a number"
        minimum, maximum = self.spec.get("minimum"), self.spec.get("maximum")
        if minimum is not None and maximum is not None:
            return f"{kind} from {minimum} to {maximum}"
        if minimum is not None:
            return f"{kind} of at least {minimum}"
        if maximum is not None:
            return f"{kind} of at most {maximum}"
        return kind


class StringType(ParameterType):
    kind = "string"
    bounds = ("max_length", "pattern")

    def parse(self, value: object) -> str:
        if not isinstance(value, str) or not value.strip():
            raise Rejected("a non-empty string is required")
        max_length = self.spec.get("max_length", 200)
        if len(value) > max_length:
            raise Rejected(f"the text is longer than {max_length} characters")
        pattern = self.spec.get("pattern")
        if pattern is not None and not re.fullmatch(pattern, value):
            raise Rejected(f"the text does not match the pattern {pattern}")
        return value

    def allowed(self) -> str:
        pattern = self.spec.get("pattern")
        suffix = f" matching {pattern}" if pattern else ""
        return f"text of at most {self.spec.get('max_length', 200)} characters{suffix}"


def _date(value: object, what: str) -> datetime.date:
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value.strip()):
        raise Rejected(f"{what} must be a date written YYYY-MM-DD")
    try:
        return datetime.date.fromisoformat(value.strip())
    except ValueError:
        raise Rejected(f"{what} {value!r} is not a calendar date") from None


def _date_bound(spec: Mapping[str, Any], name: str) -> datetime.date | None:
    value = spec.get(name)
    if value is None:
        return None
    try:
        return datetime.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a date written YYYY-MM-DD") from None


class _Dated(ParameterType):
    """Base class of the date types: reads and applies the earliest and latest date."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        super().__init__(spec)
        self._minimum = _date_bound(spec, "minimum")
        self._maximum = _date_bound(spec, "maximum")

    def _check_bounds(self, date: datetime.date) -> None:
        if self._minimum is not None and date < self._minimum:
            raise Rejected(f"{date} is before the earliest date {self._minimum}")
        if self._maximum is not None and date > self._maximum:
            raise Rejected(f"{date} is after the latest date {self._maximum}")

    def _bounds_text(self) -> str:
        parts = [
            f"from {self._minimum}" if self._minimum else "",
            f"to {self._maximum}" if self._maximum else "",
        ]
        text = " ".join(part for part in parts if part)
        return f" {text}" if text else ""


class DateType(_Dated):
    kind = "date"
    bounds = ("minimum", "maximum")

    def parse(self, value: object) -> str:
        date = _date(value, "the date")
        self._check_bounds(date)
        return date.isoformat()

    def allowed(self) -> str:
        return f"a date YYYY-MM-DD{self._bounds_text()}"


class DateRangeType(_Dated):
    """Two dates, the end excluded as in Earth Engine's DateRange."""

    kind = "date_range"
    bounds = ("minimum", "maximum", "max_days")

    def parse(self, value: object) -> tuple[str, str]:
        start_text, end_text = self._parts(value)
        start, end = _date(start_text, "the start"), _date(end_text, "the end")
        if end <= start:
            raise Rejected(f"the end {end} must be after the start {start}")
        self._check_bounds(start)
        self._check_bounds(end)
        max_days = self.spec.get("max_days")
        if max_days is not None and (end - start).days > max_days:
            raise Rejected(
                f"the range spans {(end - start).days} days; at most {max_days} are "
                "allowed"
            )
        return start.isoformat(), end.isoformat()

    @staticmethod
    def _parts(value: object) -> tuple[object, object]:
        if isinstance(value, Mapping) and set(value) == {"start", "end"}:
            return value["start"], value["end"]
        if isinstance(value, list) and len(value) == 2:
            return value[0], value[1]
        if isinstance(value, str):
            for separator in _RANGE_SEPARATORS:
                if separator in value:
                    start, _, end = value.partition(separator)
                    return start, end
        raise Rejected("a range is two dates written START/END")

    def node(self, value: tuple[str, str]) -> Value:
        return invoke("DateRange", start=value[0], end=value[1])

    def plain(self, value: tuple[str, str]) -> list[str]:
        return list(value)

    def show(self, value: tuple[str, str]) -> str:
        return f"{value[0]}/{value[1]}"

    def allowed(self) -> str:
        days = self.spec.get("max_days")
        limit = f", at most {days} days long" if days else ""
        return f"two dates START/END (END excluded){self._bounds_text()}{limit}"


class BoundingBoxType(ParameterType):
    kind = "bbox"
    bounds = ("max_span",)

    def parse(self, value: object) -> list[int | float]:
        west, south, east, north = _numbers(value, 4, "a bounding box")
        box = [_whole_if_possible(item) for item in (west, south, east, north)]
        try:
            parse_region(box, "/bbox")
        except InvalidRequest as error:
            raise Rejected(error.message) from None
        max_span = self.spec.get("max_span", 360)
        span = max(east - west, north - south)
        if span > max_span:
            raise Rejected(
                f"the box spans {_format_number(span)} degrees; at most {max_span} "
                "are allowed"
            )
        return box

    def node(self, value: list[float]) -> Value:
        return parse_region(value, "/bbox").geometry()

    def show(self, value: list[float]) -> str:
        return ",".join(_format_number(item) for item in value)

    def allowed(self) -> str:
        return (
            "west,south,east,north in degrees, spanning at most "
            f"{self.spec.get('max_span', 360)} degrees"
        )


class PointRadiusType(ParameterType):
    """A circle: longitude and latitude in degrees and a radius in metres."""

    kind = "point_radius"
    bounds = ("min_radius", "max_radius")

    def parse(self, value: object) -> tuple[float, float, float]:
        if isinstance(value, Mapping) and set(value) == {"lon", "lat", "radius"}:
            value = [value["lon"], value["lat"], value["radius"]]
        longitude, latitude, radius = _numbers(value, 3, "a point with radius")
        if not -180 <= longitude <= 180:
            raise Rejected(f"longitude {longitude} is outside -180 to 180")
        if not -90 <= latitude <= 90:
            raise Rejected(f"latitude {latitude} is outside -90 to 90")
        minimum = self.spec.get("min_radius", 1)
        maximum = self.spec.get("max_radius", 1_000_000)
        if not minimum <= radius <= maximum:
            raise Rejected(
                f"radius {_format_number(radius)} m is outside {minimum} to {maximum} m"
            )
        return (
            _whole_if_possible(longitude),
            _whole_if_possible(latitude),
            _whole_if_possible(radius),
        )

    def node(self, value: tuple[float, float, float]) -> Value:
        longitude, latitude, radius = value
        point = invoke("GeometryConstructors.Point", coordinates=[longitude, latitude])
        return invoke("Geometry.buffer", geometry=point, distance=radius)

    def plain(self, value: tuple[float, float, float]) -> list[float]:
        """Return the circle's bounding box, [west, south, east, north] in degrees."""
        longitude, latitude, radius = value
        latitude_step = radius / METRES_PER_DEGREE
        south = max(-90.0, latitude - latitude_step)
        north = min(90.0, latitude + latitude_step)
        # Near a pole a circle covers every longitude.
        widest = max(abs(south), abs(north))
        cosine = math.cos(math.radians(widest))
        longitude_step = (
            180.0 if cosine < 1e-6 else radius / (METRES_PER_DEGREE * cosine)
        )
        longitude_step = min(longitude_step, 180.0)
        return [
            round(longitude - longitude_step, 6),
            round(south, 6),
            round(longitude + longitude_step, 6),
            round(north, 6),
        ]

    def show(self, value: tuple[float, float, float]) -> str:
        return ",".join(_format_number(item) for item in value)

    def allowed(self) -> str:
        minimum = self.spec.get("min_radius", 1)
        maximum = self.spec.get("max_radius", 1_000_000)
        return f"longitude,latitude,radius with a radius of {minimum} to {maximum} m"


class EnumType(ParameterType):
    """One of named choices; a choice may stand for any JSON value."""

    kind = "enum"
    bounds = ("choices",)

    def __init__(self, spec: Mapping[str, Any]) -> None:
        super().__init__(spec)
        choices = spec.get("choices")
        if isinstance(choices, list):
            choices = {str(choice): choice for choice in choices}
        if not isinstance(choices, dict) or not choices:
            raise ValueError("an enum needs a non-empty list or object of choices")
        self._choices: dict[str, Any] = choices

    def parse(self, value: object) -> str:
        if isinstance(value, str):
            for choice in self._choices:
                if choice.lower() == value.strip().lower():
                    return choice
        raise Rejected(f"{value!r} is not one of the choices")

    def node(self, value: str) -> Value:
        return self._choices[value]

    def plain(self, value: str) -> Any:
        return self._choices[value]

    def allowed(self) -> str:
        return "one of " + ", ".join(self._choices)


class PaletteType(ParameterType):
    """Colours, given as a preset name or as a list of colours."""

    kind = "palette"
    bounds = ("presets", "min_colors", "max_colors")

    def __init__(self, spec: Mapping[str, Any]) -> None:
        super().__init__(spec)
        presets = spec.get("presets", {})
        if not isinstance(presets, dict):
            raise ValueError("presets must map names to colour lists")
        self._presets: dict[str, list[str]] = {
            name.lower(): normalize_palette(colours, f"/presets/{name}")
            for name, colours in presets.items()
        }

    def parse(self, value: object) -> list[str]:
        if isinstance(value, str) and value.strip().lower() in self._presets:
            colours = self._presets[value.strip().lower()]
        else:
            try:
                colours = normalize_palette(value, "/palette")
            except InvalidRequest:
                raise Rejected(
                    "it is neither a preset name nor a list of colours"
                ) from None
        minimum = self.spec.get("min_colors", 2)
        maximum = self.spec.get("max_colors", 32)
        if not minimum <= len(colours) <= maximum:
            raise Rejected(
                f"{len(colours)} colours given; {minimum} to {maximum} are allowed"
            )
        return colours

    def show(self, value: list[str]) -> str:
        for name, colours in self._presets.items():
            if colours == value:
                return name
        return ",".join(value)

    def allowed(self) -> str:
        presets = ", ".join(self._presets)
        preset_text = f"a preset ({presets}) or " if presets else ""
        minimum = self.spec.get("min_colors", 2)
        maximum = self.spec.get("max_colors", 32)
        return (
            f"{preset_text}{minimum} to {maximum} comma-separated colours "
            "(hex rrggbb or CSS names)"
        )


TYPES: dict[str, type[ParameterType]] = {
    kind.kind: kind
    for kind in (
        NumberType,
        StringType,
        DateType,
        DateRangeType,
        BoundingBoxType,
        PointRadiusType,
        EnumType,
        PaletteType,
    )
}
