"""Parsing of the /render command text."""

from __future__ import annotations

import pytest

from eerender import recipes
from eerender.chat_commands import HELP, LIST, RENDER, parse_command
from eerender.config import Settings
from eerender.errors import InvalidRequest

BOOK = recipes.book(Settings(ee_project="test-project"))


def rejected(text: str) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        parse_command(text, BOOK)
    return caught.value


def test_list_and_help_forms() -> None:
    assert parse_command("list", BOOK).action == LIST
    assert parse_command("", BOOK).action == HELP
    assert parse_command("help", BOOK).action == HELP
    recipe_help = parse_command("HELP srtm", BOOK)
    assert recipe_help.action == HELP
    assert recipe_help.recipe is not None
    assert recipe_help.recipe.name == "elevation"


def test_positional_and_named_values() -> None:
    command = parse_command("/render srtm 10,45,11,46 colors=viridis", BOOK)

    assert command.action == RENDER
    assert command.params == {"bbox": "10,45,11,46", "colors": "viridis"}
    assert command.describe() == "elevation bbox=10,45,11,46 colors=viridis"


def test_options_go_to_render_fields() -> None:
    command = parse_command("ndvi dimensions=256 format=JPEG", BOOK)

    assert command.options == {"dimensions": "256", "format": "JPEG"}
    request = command.render_request()
    assert request["dimensions"] == "256"
    assert request["delivery"] == "store"
    assert request["signedUrl"] is True


def test_quotes_and_typographic_quotes() -> None:
    plain = parse_command('elevation colors="red, white"', BOOK)
    curly = parse_command("elevation colors=“red, white”", BOOK)

    assert plain.params == {"colors": "red, white"}
    assert curly.params == plain.params


def test_same_render_same_key() -> None:
    first = parse_command("srtm 10,45,11,46 lowest=0", BOOK)
    second = parse_command("elevation lowest=0 bbox=10,45,11,46", BOOK)

    assert first.key("slack", "U1") == second.key("slack", "U1")
    assert first.key("slack", "U1") != first.key("slack", "U2")


def test_command_errors() -> None:
    assert "Close every quote" in rejected('elevation colors="red').message
    assert "given twice" in rejected("elevation lowest=1 lowest=2").message
    assert "no further value" in rejected("elevation 1,2,3,4 5,6,7,8").message
    assert "cannot be shown in chat" in rejected("elevation format=geo_tiff").message
    assert "no parameter 'scale'" in rejected("elevation scale=30").message
    assert rejected("nothing").code == "UNKNOWN_RECIPE"
    assert "at most 2000" in rejected("elevation " + "x" * 2000).message
