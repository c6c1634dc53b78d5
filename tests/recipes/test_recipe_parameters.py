"""Recipe parameter types: JSON and text forms, bounds, and the values they produce."""

from __future__ import annotations

from typing import Any

import pytest

from eerender.expression import Invocation
from eerender.recipe_parameters import (
    BoundingBoxType,
    DateRangeType,
    DateType,
    EnumType,
    NumberType,
    PaletteType,
    PointRadiusType,
    Rejected,
    StringType,
)


def rejected(parameter: Any, value: object) -> str:
    with pytest.raises(Rejected) as caught:
        parameter.parse(value)
    return str(caught.value)


def test_number_reads_json_and_text() -> None:
    number = NumberType({"minimum": 0, "maximum": 100})

    assert number.parse(5) == 5
    assert number.parse("12.5") == 12.5
    assert number.parse(" 7 ") == 7
    assert isinstance(number.parse(7.0), int)


def test_number_rejects_out_of_bounds() -> None:
    number = NumberType({"minimum": 0, "maximum": 100})

    assert "above the maximum 100" in rejected(number, 101)
    assert "below the minimum 0" in rejected(number, "-1")
    assert "not a number" in rejected(number, "ten")
    assert "must be a number" in rejected(number, True)
    assert "finite" in rejected(number, float("nan"))
    assert number.allowed() == "a number from 0 to 100"


def test_number_integer_bound() -> None:
    whole = NumberType({"integer": True})

    assert whole.parse("4") == 4
    assert "whole number" in rejected(whole, 4.5)


def test_string_length_and_pattern() -> None:
    name = StringType({"max_length": 5, "pattern": "[a-z]+"})

    assert name.parse("abc") == "abc"
    assert "longer than 5" in rejected(name, "abcdef")
    assert "does not match" in rejected(name, "ABC")
    assert "non-empty" in rejected(name, "")


def test_date_reads_iso_dates_within_bounds() -> None:
    date = DateType({"minimum": "2017-03-28", "maximum": "2030-01-01"})

    assert date.parse("2024-02-29") == "2024-02-29"
    assert "not a calendar date" in rejected(date, "2023-02-29")
    assert "YYYY-MM-DD" in rejected(date, "20240101")
    assert "before the earliest date 2017-03-28" in rejected(date, "2010-01-01")
    assert "after the latest date" in rejected(date, "2031-01-01")


def test_date_range_forms() -> None:
    dates = DateRangeType({"max_days": 100})
    expected = ("2023-06-01", "2023-07-01")

    assert dates.parse("2023-06-01/2023-07-01") == expected
    assert dates.parse("2023-06-01..2023-07-01") == expected
    assert dates.parse(["2023-06-01", "2023-07-01"]) == expected
    assert dates.parse({"start": "2023-06-01", "end": "2023-07-01"}) == expected
    assert dates.show(expected) == "2023-06-01/2023-07-01"


def test_date_range_rejects_reversed_and_long() -> None:
    dates = DateRangeType({"max_days": 100, "minimum": "2017-03-28"})

    assert "must be after the start" in rejected(dates, "2023-07-01/2023-06-01")
    assert "spans 365 days; at most 100" in rejected(dates, "2023-01-01/2024-01-01")
    assert "before the earliest date" in rejected(dates, "2016-01-01/2016-02-01")
    assert "START/END" in rejected(dates, "2023-06-01")


def test_date_range_becomes_date_range_call() -> None:
    node = DateRangeType({}).node(("2023-06-01", "2023-07-01"))

    assert isinstance(node, Invocation)
    assert node.function_name == "DateRange"
    assert node.arguments == {"start": "2023-06-01", "end": "2023-07-01"}


def test_bbox_reads_text_and_list() -> None:
    bbox = BoundingBoxType({"max_span": 10})

    assert bbox.parse("10,45,11,46") == [10, 45, 11, 46]
    assert bbox.parse([10.5, 45, 11, 46]) == [10.5, 45, 11, 46]
    assert bbox.show([10.5, 45, 11, 46]) == "10.5,45,11,46"


def test_bbox_rejects_bad_boxes() -> None:
    bbox = BoundingBoxType({"max_span": 10})

    assert "needs 4 numbers" in rejected(bbox, "10,45,11")
    assert "spans 20 degrees; at most 10" in rejected(bbox, "0,0,20,5")
    assert "west" in rejected(bbox, "11,45,10,46")
    assert "latitude" in rejected(bbox, "10,45,11,95").lower()


def test_bbox_becomes_planar_rectangle() -> None:
    node = BoundingBoxType({}).node([10, 45, 11, 46])

    assert node.function_name == "GeometryConstructors.Rectangle"
    assert node.arguments == {"coordinates": [10, 45, 11, 46], "geodesic": False}


def test_point_radius_forms_and_bounds() -> None:
    circle = PointRadiusType({"min_radius": 100, "max_radius": 50000})

    assert circle.parse("10.5,46.5,20000") == (10.5, 46.5, 20000)
    assert circle.parse({"lon": 10, "lat": 46, "radius": 500}) == (10, 46, 500)
    assert "outside 100 to 50000 m" in rejected(circle, [10, 46, 60000])
    assert "latitude 95" in rejected(circle, "10,95,500")
    assert "needs 3 numbers" in rejected(circle, "10,46")


def test_point_radius_region_is_circle_bounds() -> None:
    circle = PointRadiusType({})
    west, south, east, north = circle.plain((0, 0, 111195))

    assert south == pytest.approx(-1, abs=1e-3)
    assert north == pytest.approx(1, abs=1e-3)
    assert west == pytest.approx(-1, abs=1e-3)
    assert east == pytest.approx(1, abs=1e-3)
    # At 60 degrees a degree of longitude is half as long, so the box is wider.
    west, _, east, _ = circle.plain((0, 60, 10000))
    assert east - west > 0.35


def test_point_radius_near_pole_spans_all_longitudes() -> None:
    west, south, east, north = PointRadiusType({}).plain((0, 89.9, 100000))

    assert north == 90
    assert (west, east) == (-180, 180)


def test_point_radius_becomes_buffer() -> None:
    node = PointRadiusType({}).node((10, 46, 500))

    assert node.function_name == "Geometry.buffer"
    assert node.arguments["distance"] == 500
    assert node.arguments["geometry"].arguments == {"coordinates": [10, 46]}


def test_enum_choices_case_insensitive() -> None:
    scheme = EnumType({"choices": {"igbp": "LC_Type1", "umd": "LC_Type2"}})

    assert scheme.parse("UMD") == "umd"
    assert scheme.plain("umd") == "LC_Type2"
    assert "not one of the choices" in rejected(scheme, "other")
    assert scheme.allowed() == "one of igbp, umd"


def test_enum_needs_choices() -> None:
    with pytest.raises(ValueError, match="choices"):
        EnumType({"choices": []})


def test_palette_presets_and_colours() -> None:
    palette = PaletteType(
        {"presets": {"greys": ["black", "white"]}, "min_colors": 2, "max_colors": 3}
    )

    assert palette.parse("Greys") == ["000000", "ffffff"]
    assert palette.parse("red,#00f") == ["ff0000", "0000ff"]
    assert palette.parse(["red", "green"]) == ["ff0000", "008000"]
    assert palette.show(["000000", "ffffff"]) == "greys"
    assert "neither a preset" in rejected(palette, "nocolour,red")
    assert "4 colours given; 2 to 3" in rejected(palette, "red,green,blue,white")
    assert "1 colours given" in rejected(palette, "red")
