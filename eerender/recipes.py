"""Recipes: named render requests whose typed parameters fill an expression template.

A recipe is a JSON file in the recipe directory (``recipes/`` unless RECIPE_DIR names
another) with these members:

- ``name``, the file's stem, and optional ``aliases``;
- ``description``, which says what is rendered and from which assets;
- ``parameters``: each with a ``type`` from ``eerender.recipe_parameters``, a
  ``description``, an optional ``default`` and the type's bounds;
- ``positional``: parameters a chat command may give without ``name=``, in order;
- ``expression``: an Earth Engine Expression in which ``{"parameter": NAME}`` stands
  where a value node goes;
- ``render``: render request fields (region, dimensions, visualization, format), in
  which ``{"parameter": NAME}`` stands for the value's JSON;
- ``variants``: replacements of ``expression``, ``render`` and parameter bounds or
  defaults, one set per variant name. RECIPE_VARIANT picks one, so a recipe can read
  other assets on the local stand-in than on Earth Engine.

Placeholders are replaced as whole JSON values, never by editing text, so a parameter
value cannot change the shape of the expression around it.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eerender.config import Settings
from eerender.errors import ConfigurationError, InvalidRequest
from eerender.expression import parse_expression
from eerender.recipe_parameters import TYPES, ParameterType, Rejected
from eerender.serializer import encode_expression
from eerender.thumbnail import VISUALIZATION_PARAMETERS
from eerender.validation import child, excerpt, invalid, json_object, text

RECIPE_FIELD = "recipe"
PARAMS_FIELD = "params"
UNKNOWN_RECIPE = "UNKNOWN_RECIPE"
INVALID_PARAMETER = "INVALID_PARAMETER"
INVALID_RECIPE = "INVALID_RECIPE"
DEFAULT_DIRECTORY = Path(__file__).resolve().parent.parent / "recipes"

_NAME = re.compile(r"[a-z][a-z0-9_-]{0,39}")
_FILE_KEYS = (
    "name",
    "aliases",
    "description",
    "positional",
    "parameters",
    "expression",
    "render",
    "variants",
)
_VARIANT_KEYS = ("parameters", "expression", "render")
_COMMON_SPEC_KEYS = ("type", "description", "default")
# Nodes whose members hold further value nodes; every other kind is a leaf.
_NESTED_NODES = {
    "functionInvocationValue": "arguments",
    "arrayValue": "values",
    "dictionaryValue": "values",
}
# A render field the request sets itself drops the recipe fields it would clash with.
_CLASHES: dict[str, tuple[str, ...]] = {
    "grid": ("region", "dimensions", "scale", "crs", "crs_transform", "crsTransform"),
    "dimensions": ("scale",),
    "scale": ("dimensions",),
    "format": ("fileFormat",),
    "fileFormat": ("format",),
    "crs_transform": ("crsTransform",),
    "crsTransform": ("crs_transform",),
    "visualizationOptions": VISUALIZATION_PARAMETERS,
    **{name: ("visualizationOptions",) for name in VISUALIZATION_PARAMETERS},
}
_REQUIRED = object()


class _RecipeFileError(ValueError):
    """A recipe file breaks the format; the message names the member at fault."""


@dataclass(frozen=True)
class Parameter:
    """One recipe parameter: its type with bounds, description and default."""

    name: str
    type: ParameterType
    description: str
    default: Any = _REQUIRED

    @property
    def required(self) -> bool:
        return self.default is _REQUIRED

    def read(self, raw: object, recipe: str, field: str) -> Any:
        """Return the checked value of ``raw``.

        Raises:
            InvalidRequest: ``INVALID_PARAMETER`` naming the parameter, the value and
                what is allowed.
        """
        try:
            return self.type.parse(raw)
        except Rejected as error:
            raise invalid(
                f"Parameter {self.name} of recipe {recipe} is invalid: {error} (got "
                f"{excerpt(raw)}). Allowed: {self.type.allowed()}.",
                field,
                raw,
                code=INVALID_PARAMETER,
            ) from None

    def usage(self) -> str:
        default = "" if self.required else f" Default {self.type.show(self.default)}."
        return f"{self.name}: {self.description} Takes {self.type.allowed()}.{default}"


@dataclass(frozen=True)
class Recipe:
    """A checked recipe, with its variant already applied."""

    name: str
    aliases: tuple[str, ...]
    description: str
    parameters: dict[str, Parameter]
    positional: tuple[str, ...]
    expression: dict[str, Any]
    render: dict[str, Any]

    def read_params(self, raw: object, field: str = "/params") -> dict[str, Any]:
        """Check the given parameters and fill in the defaults of the others.

        Raises:
            InvalidRequest: ``INVALID_PARAMETER`` for an unknown, missing or invalid
                parameter.
        """
        given = json_object(raw, field)
        unknown = sorted(name for name in given if name not in self.parameters)
        if unknown:
            raise invalid(
                f"Recipe {self.name} has no parameter {', '.join(unknown)}. Its "
                f"parameters are: {', '.join(self.parameters) or 'none'}.",
                child(field, unknown[0]),
                unknown,
                code=INVALID_PARAMETER,
            )
        values: dict[str, Any] = {}
        for name, parameter in self.parameters.items():
            raw_value = given.get(name)
            if raw_value is not None:
                values[name] = parameter.read(raw_value, self.name, child(field, name))
            elif parameter.required:
                raise invalid(
                    f"Recipe {self.name} needs parameter {name}: "
                    f"{parameter.type.allowed()}.",
                    child(field, name),
                    None,
                    code=INVALID_PARAMETER,
                )
            else:
                values[name] = parameter.default
        return values

    def expand(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Return the render request fields, expression included, for ``values``."""
        fields = _fill_json(
            self.render, lambda name: self.parameters[name].type.plain(values[name])
        )
        expression = _fill_expression(
            self.expression, lambda name: self._node(name, values[name])
        )
        return {**fields, "expression": expression}

    def shown(self, values: Mapping[str, Any]) -> dict[str, str]:
        """Return each value as a user would type it, for replies."""
        return {
            name: self.parameters[name].type.show(value)
            for name, value in values.items()
        }

    def usage(self) -> str:
        """Return a few lines of help: the description and every parameter."""
        aliases = f" (also {', '.join(self.aliases)})" if self.aliases else ""
        positional = "".join(f" [{name}]" for name in self.positional)
        lines = [
            f"{self.name}{aliases}: {self.description}",
            f"Usage: {self.name}{positional} name=value ...",
            *(f"  {parameter.usage()}" for parameter in self.parameters.values()),
        ]
        return "\n".join(lines)

    def _node(self, name: str, value: Any) -> dict[str, Any]:
        encoded = encode_expression(self.parameters[name].type.node(value))
        nodes = encoded["values"]
        # Parameter values are small trees without shared parts, which the encoder
        # always writes as one node; a second node would need its own name.
        if len(nodes) != 1:
            raise ConfigurationError(
                f"Parameter {name} of recipe {self.name} encodes to {len(nodes)} "
                "nodes; parameter types must encode to one.",
                code=INVALID_RECIPE,
            )
        node: dict[str, Any] = nodes[encoded["result"]]
        return node


class RecipeBook:
    """The recipes of one directory, found by name or alias."""

    def __init__(self, recipes: list[Recipe]) -> None:
        self._recipes = sorted(recipes, key=lambda recipe: recipe.name)
        self._by_name: dict[str, Recipe] = {}
        for recipe in self._recipes:
            for name in (recipe.name, *recipe.aliases):
                if name in self._by_name:
                    raise ConfigurationError(
                        f"Recipes {self._by_name[name].name} and {recipe.name} both "
                        f"use the name {name!r}; rename one.",
                        code=INVALID_RECIPE,
                    )
                self._by_name[name] = recipe

    def __iter__(self) -> Iterator[Recipe]:
        return iter(self._recipes)

    def names(self) -> list[str]:
        return [recipe.name for recipe in self._recipes]

    def find(self, name: str) -> Recipe | None:
        return self._by_name.get(name.strip().lower())

    def get(self, name: str, field: str = "/recipe") -> Recipe:
        """Return the recipe called ``name``; raise InvalidRequest UNKNOWN_RECIPE."""
        recipe = self.find(name)
        if recipe is None:
            raise invalid(
                f"Recipe {excerpt(name)} does not exist. Recipes: "
                f"{', '.join(self.names()) or 'none'}.",
                field,
                name,
                code=UNKNOWN_RECIPE,
            )
        return recipe


def expand_recipe(data: object, settings: Settings) -> object:
    """Return ``data`` with its recipe expanded into render fields, or unchanged.

    ``{"recipe": NAME, "params": {...}, ...}`` becomes the recipe's render fields and
    expression. Fields the request sets itself win over the recipe's.

    Raises:
        InvalidRequest: ``UNKNOWN_RECIPE``, ``INVALID_PARAMETER``, or a request that
            sends both a recipe and an expression.
        ConfigurationError: ``INVALID_RECIPE`` when a recipe file is broken.
    """
    if not isinstance(data, dict):
        return data
    if RECIPE_FIELD not in data:
        if PARAMS_FIELD in data:
            raise invalid(
                'params are read only with a recipe: name one with "recipe", or drop '
                "params.",
                "/params",
                data[PARAMS_FIELD],
            )
        return data
    if "expression" in data:
        raise invalid(
            "The request names both a recipe and an expression; send one of them.",
            "/expression",
            data["recipe"],
        )
    recipe = book(settings).get(text(data[RECIPE_FIELD], "/recipe"))
    values = recipe.read_params(data.get(PARAMS_FIELD) or {})
    explicit = {
        name: value
        for name, value in data.items()
        if name not in (RECIPE_FIELD, PARAMS_FIELD) and value is not None
    }
    return merge_fields(recipe.expand(values), explicit)


def merge_fields(recipe: dict[str, Any], explicit: dict[str, Any]) -> dict[str, Any]:
    """Return the recipe's fields overridden by the request's own fields."""
    merged = dict(recipe)
    for name in explicit:
        for clashing in _CLASHES.get(name, ()):
            merged.pop(clashing, None)
    return {**merged, **explicit}


def params_from_query(request: dict[str, Any]) -> dict[str, Any]:
    """Move the query parameters that are no render field into ``params``.

    With ``?recipe=elevation&bbox=10,45,11,46`` the name ``bbox`` is a recipe parameter
    because no render field has that name; recipe files may not use those names.
    """
    fields = _render_fields()
    params = request.get(PARAMS_FIELD) or {}
    if not isinstance(params, dict):
        raise invalid(
            "params must be a JSON object of recipe parameters.",
            "/params",
            params,
        )
    moved = {name: value for name, value in request.items() if name not in fields}
    kept = {name: value for name, value in request.items() if name in fields}
    return {**kept, PARAMS_FIELD: {**params, **moved}}


def book(settings: Settings) -> RecipeBook:
    """Return the recipes the settings name, read once per directory and variant."""
    directory = settings.recipe_dir or str(DEFAULT_DIRECTORY)
    return load_book(directory, settings.recipe_variant, _render_fields())


@functools.lru_cache(maxsize=8)
def load_book(directory: str, variant: str, reserved: frozenset[str]) -> RecipeBook:
    """Read every ``*.json`` recipe in ``directory``.

    Args:
        directory: Folder of recipe files.
        variant: Variant to apply where a recipe has one; empty for none.
        reserved: Render request fields, which parameters may not be named after.

    Raises:
        ConfigurationError: ``INVALID_RECIPE`` naming the file and the problem.
    """
    folder = Path(directory)
    if not folder.is_dir():
        raise ConfigurationError(
            f"The recipe directory {directory} does not exist; fix RECIPE_DIR.",
            code=INVALID_RECIPE,
        )
    paths = sorted(folder.glob("*.json"))
    return RecipeBook([load_recipe(path, variant, reserved) for path in paths])


def load_recipe(path: Path, variant: str, reserved: frozenset[str]) -> Recipe:
    """Read and check one recipe file; raise ConfigurationError INVALID_RECIPE."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        return _build(document, path.stem, variant, reserved)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        problem = f"cannot be read as UTF-8 JSON: {error}"
    except (_RecipeFileError, InvalidRequest) as error:
        problem = str(error)
    raise ConfigurationError(
        f"Recipe file {path.name} is invalid: {problem}", code=INVALID_RECIPE
    )


def _render_fields() -> frozenset[str]:
    # eerender.request imports this module for its recipe hook, so its field list is
    # imported when first needed instead of at module load.
    from eerender.request import ACCEPTED_FIELDS

    # "response" is the HTTP function's answer option, never a recipe parameter.
    return frozenset(ACCEPTED_FIELDS) | {RECIPE_FIELD, PARAMS_FIELD, "response"}


def _build(
    document: object, stem: str, variant: str, reserved: frozenset[str]
) -> Recipe:
    if not isinstance(document, dict):
        raise _RecipeFileError("the file must hold a JSON object")
    _only_keys(document, _FILE_KEYS, "the recipe")
    document = _apply_variant(document, variant)
    name = document.get("name")
    if name != stem or not _NAME.fullmatch(str(name)):
        raise _RecipeFileError(
            f"name {name!r} must equal the file name {stem!r}, in lower-case letters, "
            "digits, '-' and '_'"
        )
    parameters = _parameters(document.get("parameters", {}), reserved)
    recipe = Recipe(
        name=name,
        aliases=tuple(_names(document.get("aliases", []), "aliases")),
        description=_text(document.get("description"), "description"),
        parameters=parameters,
        positional=tuple(_names(document.get("positional", []), "positional")),
        expression=_expression_template(document.get("expression")),
        render=_render_template(document.get("render"), reserved),
    )
    _check_references(recipe)
    return recipe


def _apply_variant(document: dict[str, Any], variant: str) -> dict[str, Any]:
    variants = document.get("variants") or {}
    if not isinstance(variants, dict):
        raise _RecipeFileError("variants must map variant names to objects")
    chosen = variants.get(variant) if variant else None
    if chosen is None:
        return document
    if not isinstance(chosen, dict):
        raise _RecipeFileError(f"variant {variant} must be an object")
    _only_keys(chosen, _VARIANT_KEYS, f"variant {variant}")
    replaced = {key: chosen[key] for key in ("expression", "render") if key in chosen}
    merged = {**document, **replaced}
    changes = chosen.get("parameters", {})
    base = document.get("parameters", {})
    unknown = sorted(set(changes) - set(base))
    if unknown:
        raise _RecipeFileError(
            f"variant {variant} changes undeclared parameters {', '.join(unknown)}"
        )
    merged["parameters"] = {
        name: {**spec, **changes.get(name, {})} for name, spec in base.items()
    }
    return merged


def _parameters(specs: object, reserved: frozenset[str]) -> dict[str, Parameter]:
    if not isinstance(specs, dict):
        raise _RecipeFileError("parameters must be an object")
    parameters = {}
    for name, spec in specs.items():
        if not _NAME.fullmatch(name) or "-" in name:
            raise _RecipeFileError(
                f"parameter name {name!r} must be lower-case letters, digits and '_'"
            )
        if name in reserved:
            raise _RecipeFileError(
                f"parameter {name} has the name of a render request field, which "
                "would make query strings ambiguous; rename it"
            )
        parameters[name] = _parameter(name, spec)
    return parameters


def _parameter(name: str, spec: object) -> Parameter:
    if not isinstance(spec, dict):
        raise _RecipeFileError(f"parameter {name} must be an object")
    kind = TYPES.get(spec.get("type", ""))
    if kind is None:
        raise _RecipeFileError(
            f"parameter {name} has type {spec.get('type')!r}; use one of "
            f"{', '.join(TYPES)}"
        )
    _only_keys(spec, _COMMON_SPEC_KEYS + kind.bounds, f"parameter {name}")
    try:
        parameter_type = kind(spec)
        default = parameter_type.parse(spec["default"]) if "default" in spec else None
    except ValueError as error:
        raise _RecipeFileError(f"parameter {name}: {error}") from None
    return Parameter(
        name=name,
        type=parameter_type,
        description=_text(spec.get("description"), f"parameter {name} description"),
        default=_REQUIRED if "default" not in spec else default,
    )


def _expression_template(value: object) -> dict[str, Any]:
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("values"), dict)
        or value.get("result") not in value["values"]
    ):
        raise _RecipeFileError(
            'expression must be {"result": NAME, "values": {NAME: node, ...}}'
        )
    return value


def _render_template(value: object, reserved: frozenset[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _RecipeFileError("render must be an object of render request fields")
    unknown = sorted(set(value) - reserved)
    if unknown or "expression" in value:
        raise _RecipeFileError(
            f"render has fields {', '.join(unknown) or 'expression'} that are not "
            "render request fields (or are the expression)"
        )
    return value


def _check_references(recipe: Recipe) -> None:
    used: set[str] = set()

    def note(name: str) -> dict[str, str]:
        used.add(name)
        return {"parameter": name}

    _fill_expression(recipe.expression, note)
    _fill_json(recipe.render, note)
    undeclared = sorted(used - set(recipe.parameters))
    undeclared += [name for name in recipe.positional if name not in recipe.parameters]
    if undeclared:
        raise _RecipeFileError(
            f"it refers to undeclared parameters {', '.join(undeclared)}"
        )
    if all(not recipe.parameters[name].required for name in used):
        defaults = {
            name: parameter.default for name, parameter in recipe.parameters.items()
        }
        # Checking the filled template finds broken nodes when the file is read,
        # not when the first user asks for the recipe.
        parse_expression(
            recipe.expand(defaults)["expression"],
            "/expression",
            max_nodes=Settings.max_nodes,
            max_depth=Settings.max_depth,
        )


def _placeholder(node: object) -> str | None:
    if isinstance(node, dict) and len(node) == 1:
        name = node.get("parameter")
        if isinstance(name, str):
            return name
    return None


def _fill_expression(
    template: dict[str, Any], fill: Callable[[str], Any]
) -> dict[str, Any]:
    values = {name: _fill_node(node, fill) for name, node in template["values"].items()}
    return {"result": template["result"], "values": values}


def _fill_node(node: Any, fill: Callable[[str], Any]) -> Any:
    name = _placeholder(node)
    if name is not None:
        return fill(name)
    if not isinstance(node, dict):
        return node
    for kind, member in _NESTED_NODES.items():
        if kind in node and isinstance(node[kind], dict):
            content = dict(node[kind])
            children = content.get(member)
            if isinstance(children, dict):
                content[member] = {
                    key: _fill_node(child_node, fill)
                    for key, child_node in children.items()
                }
            elif isinstance(children, list):
                content[member] = [_fill_node(item, fill) for item in children]
            return {**node, kind: content}
    # Constants and references hold no value nodes, so a constant that happens to
    # look like a placeholder stays a constant.
    return node


def _fill_json(value: Any, fill: Callable[[str], Any]) -> Any:
    name = _placeholder(value)
    if name is not None:
        return fill(name)
    if isinstance(value, dict):
        return {key: _fill_json(item, fill) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill_json(item, fill) for item in value]
    return value


def _only_keys(value: dict[str, Any], accepted: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(value) - set(accepted))
    if unknown:
        raise _RecipeFileError(
            f"{where} has unknown members {', '.join(unknown)}; accepted: "
            f"{', '.join(accepted)}"
        )


def _names(value: object, member: str) -> list[str]:
    if not isinstance(value, list) or not all(
        isinstance(item, str) and _NAME.fullmatch(item) for item in value
    ):
        raise _RecipeFileError(f"{member} must be a list of lower-case names")
    return value


def _text(value: object, member: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _RecipeFileError(f"{member} must be a non-empty string")
    return value
