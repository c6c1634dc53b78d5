"""Non-image values of the Earth Engine object model: features, collections, dates,
filters and reducers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from standin.errors import invalid_argument
from standin.geometry import Geometry

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass
class Feature:
    geometry: Geometry | None
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass
class Collection:
    """An ordered list of elements and the collection's own properties."""

    elements: list[Any]
    properties: dict[str, Any] = field(default_factory=dict)

    def with_elements(self, elements: list[Any]) -> Collection:
        """Return a collection of the same kind and properties with other elements."""
        return type(self)(elements, dict(self.properties))


class ImageCollection(Collection):
    """A collection of Images."""


class FeatureCollection(Collection):
    """A collection of Features."""


@dataclass(frozen=True)
class Date:
    """A point in time in milliseconds since the Unix epoch (UTC)."""

    millis: float

    @staticmethod
    def parse(value: Any, algorithm_name: str = "Date") -> Date:
        if isinstance(value, Date):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return Date(float(value))
        if isinstance(value, str):
            return Date(_parse_iso(value, algorithm_name))
        raise invalid_argument(
            f"{algorithm_name}: Invalid date {value!r}: expected milliseconds "
            "or an ISO 8601 string."
        )

    def to_datetime(self) -> dt.datetime:
        return EPOCH + dt.timedelta(milliseconds=self.millis)


def _parse_iso(text: str, algorithm_name: str) -> float:
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = dt.datetime.strptime(text, "%Y-%m")
        except ValueError as error:
            raise invalid_argument(
                f"{algorithm_name}: Unable to parse date '{text}'."
            ) from error
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return (moment - EPOCH).total_seconds() * 1000.0


@dataclass(frozen=True)
class DateRange:
    """A half-open interval [start, end) of milliseconds since the epoch."""

    start: float
    end: float

    def contains(self, millis: float) -> bool:
        return self.start <= millis < self.end


@dataclass(frozen=True)
class Filter:
    """A predicate on an element (an Image or a Feature)."""

    test: Callable[[Any], bool]


@dataclass(frozen=True)
class Reducer:
    """A named per-pixel reducer such as `mean`, `median` or `percentile`."""

    name: str
    options: dict[str, Any] = field(default_factory=dict)
