"""Dates, date ranges and collection filters."""

from __future__ import annotations

import calendar
import datetime as dt
import operator
from collections.abc import Callable
from typing import Any

from standin.algorithms import (
    Env,
    algorithm,
    as_geometry,
    as_list,
    as_number,
    as_string,
)
from standin.elements import Date, DateRange, Feature, Filter
from standin.errors import invalid_argument
from standin.geometry import Geometry
from standin.image import Image

MILLIS_PER_DAY = 86_400_000
# Fields that name an element's geometry instead of a property.
GEOMETRY_FIELDS = (".all", ".geo")


@algorithm("Date")
def date(env: Env, value: Any, timeZone: Any = None) -> Date:
    _require_utc(timeZone, "Date")
    return Date.parse(value, "Date")


@algorithm("DateRange")
def date_range(
    env: Env, start: Any, end: Any = None, timeZone: Any = None
) -> DateRange:
    _require_utc(timeZone, "DateRange")
    begin = Date.parse(start, "DateRange").millis
    # Without an end the range is the single millisecond at its start.
    finish = begin + 1 if end is None else Date.parse(end, "DateRange").millis
    return DateRange(begin, finish)


def _require_utc(time_zone: Any, name: str) -> None:
    if time_zone not in (None, "UTC", "Etc/UTC", "GMT"):
        # TODO: time zones other than UTC are rejected; zoneinfo offsets would end this.
        raise invalid_argument(f"{name}: Only the UTC time zone is supported.")


@algorithm("Date.millis")
def date_millis(env: Env, date: Any) -> float:
    return Date.parse(date, "Date.millis").millis


_UNITS_MS = {
    "second": 1000,
    "minute": 60_000,
    "hour": 3_600_000,
    "day": MILLIS_PER_DAY,
    "week": 7 * MILLIS_PER_DAY,
}


@algorithm("Date.advance")
def date_advance(
    env: Env, date: Any, delta: Any, unit: Any, timeZone: Any = None
) -> Date:
    name = "Date.advance"
    start = Date.parse(date, name)
    amount = as_number(delta, name, "delta")
    step = as_string(unit, name, "unit").rstrip("s")
    if step in _UNITS_MS:
        return Date(start.millis + amount * _UNITS_MS[step])
    if step in ("month", "year"):
        months = int(amount) * (12 if step == "year" else 1)
        return Date(_add_months(start.to_datetime(), months))
    raise invalid_argument(f"{name}: Unknown unit '{unit}'.")


def _add_months(moment: dt.datetime, months: int) -> float:
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    shifted = moment.replace(year=year, month=month, day=day)
    return shifted.timestamp() * 1000.0


# --- Filters --------------------------------------------------------------------------


def element_geometry(element: Any) -> Geometry | None:
    if isinstance(element, Image):
        return element.footprint()
    if isinstance(element, Feature):
        return element.geometry
    return None


def _side(element: Any, field: Any, value: Any) -> Any:
    if field is None:
        return value
    if field in GEOMETRY_FIELDS:
        return element_geometry(element)
    properties = getattr(element, "properties", {})
    return properties.get(field)


def _comparable(value: Any) -> Any:
    return value.millis if isinstance(value, Date) else value


def _binary_filter(
    name: str, test: Callable[[Any, Any], bool]
) -> Callable[..., Filter]:
    def build(
        env: Env,
        leftField: Any = None,
        rightValue: Any = None,
        rightField: Any = None,
        leftValue: Any = None,
    ) -> Filter:
        def predicate(element: Any) -> bool:
            left = _comparable(_side(element, leftField, leftValue))
            right = _comparable(_side(element, rightField, rightValue))
            if left is None or right is None:
                return False
            try:
                return bool(test(left, right))
            except TypeError:
                return False

        return Filter(predicate)

    algorithm(name)(build)
    return build


def _contains_date(left: Any, right: Any) -> bool:
    if isinstance(left, DateRange):
        return left.contains(float(right))
    if isinstance(right, DateRange):
        return right.contains(float(left))
    return False


def _intersects(left: Any, right: Any) -> bool:
    return as_geometry(left, "Filter.intersects", "left").intersects(
        as_geometry(right, "Filter.intersects", "right")
    )


def _in_list(left: Any, right: Any) -> bool:
    return left in right if isinstance(right, list) else False


for _name, _test in {
    "Filter.equals": operator.eq,
    "Filter.notEquals": operator.ne,
    "Filter.lessThan": operator.lt,
    "Filter.lessThanOrEquals": operator.le,
    "Filter.greaterThan": operator.gt,
    "Filter.greaterThanOrEquals": operator.ge,
    "Filter.stringContains": lambda a, b: str(b) in str(a),
    "Filter.stringStartsWith": lambda a, b: str(a).startswith(str(b)),
    "Filter.stringEndsWith": lambda a, b: str(a).endswith(str(b)),
    "Filter.dateRangeContains": _contains_date,
    "Filter.listContains": lambda a, b: b in a if isinstance(a, list) else False,
    "Filter.inList": _in_list,
}.items():
    _binary_filter(_name, _test)


@algorithm("Filter.intersects")
def intersects(
    env: Env,
    leftField: Any = None,
    rightValue: Any = None,
    rightField: Any = None,
    leftValue: Any = None,
    maxError: Any = None,
) -> Filter:
    def predicate(element: Any) -> bool:
        left = _side(element, leftField, leftValue)
        right = _side(element, rightField, rightValue)
        if left is None or right is None:
            return False
        return _intersects(left, right)

    return Filter(predicate)


@algorithm("Filter.and")
def filter_and(env: Env, filters: Any) -> Filter:
    parts = [
        _as_filter(f, "Filter.and") for f in as_list(filters, "Filter.and", "filters")
    ]
    return Filter(lambda element: all(part.test(element) for part in parts))


@algorithm("Filter.or")
def filter_or(env: Env, filters: Any) -> Filter:
    parts = [
        _as_filter(f, "Filter.or") for f in as_list(filters, "Filter.or", "filters")
    ]
    return Filter(lambda element: any(part.test(element) for part in parts))


@algorithm("Filter.not")
def filter_not(env: Env, filter: Any) -> Filter:
    inner = _as_filter(filter, "Filter.not")
    return Filter(lambda element: not inner.test(element))


def _as_filter(value: Any, name: str) -> Filter:
    if not isinstance(value, Filter):
        raise invalid_argument(
            f"{name}: Expected a Filter, got {type(value).__name__}."
        )
    return value


_CALENDAR_FIELDS: dict[str, Callable[[dt.datetime], int]] = {
    "year": lambda d: d.year,
    "month": lambda d: d.month,
    "week_of_year": lambda d: d.isocalendar()[1],
    "day_of_year": lambda d: d.timetuple().tm_yday,
    "day_of_month": lambda d: d.day,
    "day_of_week": lambda d: d.isoweekday(),
    "hour": lambda d: d.hour,
    "minute": lambda d: d.minute,
}


@algorithm("Filter.calendarRange")
def calendar_range(
    env: Env, start: Any, end: Any = None, field: Any = "day_of_year"
) -> Filter:
    name = "Filter.calendarRange"
    unit = as_string(field, name, "field")
    if unit not in _CALENDAR_FIELDS:
        raise invalid_argument(f"{name}: Unknown field '{unit}'.")
    low = int(as_number(start, name, "start"))
    high = low if end is None else int(as_number(end, name, "end"))
    extract = _CALENDAR_FIELDS[unit]

    def predicate(element: Any) -> bool:
        millis = getattr(element, "properties", {}).get("system:time_start")
        if millis is None:
            return False
        value = extract(Date(float(millis)).to_datetime())
        # A range whose end is before its start wraps around (for example Nov-Feb).
        return low <= value <= high if low <= high else value >= low or value <= high

    return Filter(predicate)
