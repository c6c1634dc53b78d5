"""The ``/render`` chat command, shared by the Google Chat app and the Slack command.

Forms: ``/render list``, ``/render help [RECIPE]`` and
``/render RECIPE [VALUE ...] [NAME=VALUE ...]``. Bare values fill the recipe's
positional parameters in order, so ``/render srtm 10,45,11,46`` names the bounding box.
Values with spaces are quoted as in a shell. Besides recipe parameters, ``dimensions``
and ``format`` (png or jpeg) set the image.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from dataclasses import dataclass, field
from typing import Any

from eerender.errors import InvalidRequest
from eerender.recipes import PARAMS_FIELD, RECIPE_FIELD, Recipe, RecipeBook

COMMAND = "/render"
LIST = "list"
HELP = "help"
RENDER = "render"
# Render fields a chat command may set next to the recipe's parameters.
OPTIONS = ("dimensions", "format")
CHAT_FORMATS = ("png", "jpeg", "jpg")
MAX_COMMAND_CHARACTERS = 2000
# Chat clients turn typed quotes into typographic ones.
_QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'"})


@dataclass(frozen=True)
class Command:
    """A parsed command: what to do and, for renders, the recipe's inputs."""

    action: str
    recipe: Recipe | None = None
    params: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)

    def render_request(self) -> dict[str, Any]:
        """Return the render request: stored, signed, and PNG unless JPEG is named."""
        assert self.recipe is not None
        request: dict[str, Any] = {
            RECIPE_FIELD: self.recipe.name,
            PARAMS_FIELD: dict(self.params),
            "delivery": "store",
            "signedUrl": True,
        }
        request.update(self.options)
        return request

    def key(self, *scope: str) -> str:
        """Return a hash that is equal for equal commands in the same ``scope``.

        Spellings that mean the same render (an alias, a positional value, another
        parameter order) give the same key.
        """
        canonical = json.dumps(
            [list(scope), self.render_request()], sort_keys=True, ensure_ascii=False
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def describe(self) -> str:
        """Return the command as a user could type it again."""
        assert self.recipe is not None
        words = [self.recipe.name]
        words += [f"{name}={value}" for name, value in self.params.items()]
        words += [f"{name}={value}" for name, value in self.options.items()]
        return " ".join(shlex.quote(word) for word in words)


def parse_command(text: str, book: RecipeBook) -> Command:
    """Parse the text after ``/render``; a leading ``/render`` is skipped.

    Raises:
        InvalidRequest: ``INVALID_COMMAND`` for unbalanced quotes, unknown names and
            surplus values; ``UNKNOWN_RECIPE`` for an unknown recipe.
    """
    words = _words(text)
    if not words or words[0].lower() == HELP and len(words) == 1:
        return Command(HELP)
    if words[0].lower() == LIST:
        return Command(LIST)
    if words[0].lower() == HELP:
        return Command(HELP, book.get(words[1], "/command"))
    recipe = book.get(words[0], "/command")
    params, options = _arguments(recipe, words[1:])
    return Command(RENDER, recipe, params, options)


def _words(text: str) -> list[str]:
    if len(text) > MAX_COMMAND_CHARACTERS:
        raise _invalid(
            f"The command is {len(text)} characters long; at most "
            f"{MAX_COMMAND_CHARACTERS} are read."
        )
    try:
        words = shlex.split(text.translate(_QUOTES))
    except ValueError as error:
        raise _invalid(
            f"The command cannot be read: {error}. Close every quote."
        ) from None
    if words and words[0].lower() == COMMAND:
        words = words[1:]
    return words


def _arguments(
    recipe: Recipe, words: list[str]
) -> tuple[dict[str, str], dict[str, str]]:
    params: dict[str, str] = {}
    options: dict[str, str] = {}
    positional = list(recipe.positional)
    for word in words:
        name, separator, value = word.partition("=")
        if not separator:
            name, value = _next_positional(recipe, positional, params, word)
        name = name.strip().lower()
        target = options if name in OPTIONS else params
        if name not in OPTIONS and name not in recipe.parameters:
            raise _invalid(
                f"Recipe {recipe.name} has no parameter {name!r}. Its parameters: "
                f"{', '.join(recipe.parameters) or 'none'}; options: "
                f"{', '.join(OPTIONS)}."
            )
        if name in params or name in options:
            raise _invalid(f"{name} is given twice; give it once.")
        target[name] = value
    _check_format(options.get("format"))
    return params, options


def _next_positional(
    recipe: Recipe, positional: list[str], given: dict[str, str], word: str
) -> tuple[str, str]:
    while positional and positional[0] in given:
        positional.pop(0)
    if not positional:
        raise _invalid(
            f"{word!r} has no name, and recipe {recipe.name} takes no further value "
            "without one; write NAME=VALUE."
        )
    return positional.pop(0), word


def _check_format(value: str | None) -> None:
    if value is not None and value.lower() not in CHAT_FORMATS:
        raise _invalid(f"format {value!r} cannot be shown in chat; use png or jpeg.")


def _invalid(message: str) -> InvalidRequest:
    return InvalidRequest(message, code="INVALID_COMMAND", field="/command")


def list_text(book: RecipeBook) -> str:
    """Return the recipe list with one line per recipe."""
    lines = ["Recipes (use `/render help RECIPE` for its parameters):"]
    for recipe in book:
        summary = recipe.description.split(". ")[0].rstrip(".")
        lines.append(f"• *{recipe.name}*: {summary}.")
    return "\n".join(lines)


def help_text(book: RecipeBook, recipe: Recipe | None = None) -> str:
    """Return help on the command, or on one recipe's parameters."""
    if recipe is not None:
        return recipe.usage()
    example = next(iter(book), None)
    example_line = f"Example: `/render {example.name}`" if example is not None else ""
    return "\n".join(
        line
        for line in (
            "Render Earth Engine images from recipes.",
            "`/render list`: the recipes.",
            "`/render help RECIPE`: a recipe's parameters.",
            "`/render RECIPE [VALUE ...] [NAME=VALUE ...]`: render it. "
            "`dimensions=512` and `format=jpeg` set the image.",
            example_line,
        )
        if line
    )
