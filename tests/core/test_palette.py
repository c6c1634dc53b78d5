"""Palette spellings and the rejections of malformed palettes."""

from __future__ import annotations

import re
from typing import Any

import pytest

from eerender.errors import InvalidRequest
from eerender.palette import CSS_COLORS, normalize_color, normalize_palette


@pytest.mark.parametrize(
    ("palette", "expected"),
    [
        (["ff0000", "00FF00"], ["ff0000", "00ff00"]),
        (["#FF0000", "#0000ff"], ["ff0000", "0000ff"]),
        (["f00", "#0F0"], ["ff0000", "00ff00"]),
        (["red", "Green", "REBECCAPURPLE"], ["ff0000", "008000", "663399"]),
        ("red,#00ff00, 00f", ["ff0000", "00ff00", "0000ff"]),
        ("000000", ["000000"]),
        ([" white "], ["ffffff"]),
    ],
)
def test_palette_normalised(palette: Any, expected: list[str]) -> None:
    assert normalize_palette(palette, "/palette") == expected


def test_all_css_names_known() -> None:
    assert len(CSS_COLORS) == 148
    assert all(re.fullmatch("[0-9a-f]{6}", value) for value in CSS_COLORS.values())
    assert normalize_color("DarkSlateGrey", "/palette/0") == "2f4f4f"


REJECTED: list[tuple[str, Any, str, str]] = [
    ("dict", {"0": "red"}, "/palette", "dict"),
    ("numbers", [1, 2], "/palette/0", "1"),
    ("nested", [["red", "blue"]], "/palette/0", "['red', 'blue']"),
    ("empty_list", [], "/palette", "empty"),
    ("empty_string", " , ", "/palette", "empty"),
    ("number", 255, "/palette", "255"),
    ("unknown_name", ["red", "reddish"], "/palette/1", "'reddish'"),
    ("bad_hex", ["#ff00zz"], "/palette/0", "'#ff00zz'"),
    ("four_digits", ["ff00"], "/palette/0", "'ff00'"),
    ("unknown_in_string", "red,blu", "/palette", "'blu'"),
]


@pytest.mark.parametrize(
    ("palette", "field", "named"),
    [case[1:] for case in REJECTED],
    ids=[case[0] for case in REJECTED],
)
def test_palette_rejected(palette: Any, field: str, named: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        normalize_palette(palette, "/palette")

    assert caught.value.code == "INVALID_PALETTE"
    assert caught.value.field == field
    assert named in caught.value.message
