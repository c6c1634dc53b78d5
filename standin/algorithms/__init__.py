"""The Earth Engine algorithms the stand-in evaluates, registered by their REST name.

Each algorithm is a Python function whose keyword parameters are the algorithm's
argument names, so the evaluator can check required and unknown arguments the way
the service does. The first positional parameter is the evaluation `Env`.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from standin.catalog import Catalog
from standin.elements import Feature
from standin.errors import invalid_argument
from standin.geometry import Geometry
from standin.image import Image, constant_image


class Env(Protocol):
    """The evaluator interface that algorithms use: the catalog and calls."""

    catalog: Catalog

    def call(self, function: Any, arguments: dict[str, Any]) -> Any: ...


@dataclass(frozen=True)
class Algorithm:
    """A registered algorithm and its argument names."""

    name: str
    function: Callable[..., Any]
    # Required argument names in signature order, the order errors report them.
    required: tuple[str, ...]
    accepted: frozenset[str]
    # EE argument names that are Python keywords, mapped to parameter names.
    renamed: dict[str, str]

    def invoke(self, env: Env, arguments: dict[str, Any]) -> Any:
        for argument in arguments:
            if argument not in self.accepted:
                raise invalid_argument(
                    f"{self.name}: Unrecognized argument '{argument}'."
                )
        for argument in self.required:
            if arguments.get(argument) is None:
                raise invalid_argument(
                    f"{self.name}: Parameter '{argument}' is required."
                )
        keywords = {self.renamed.get(k, k): v for k, v in arguments.items()}
        return self.function(env, **keywords)


REGISTRY: dict[str, Algorithm] = {}


def algorithm(name: str, renamed: dict[str, str] | None = None) -> Callable[..., Any]:
    """Register the decorated function as the algorithm `name`."""
    renamed = renamed or {}
    reverse = {python: ee for ee, python in renamed.items()}

    def register(function: Callable[..., Any]) -> Callable[..., Any]:
        parameters = list(inspect.signature(function).parameters.values())[1:]
        required = tuple(
            reverse.get(p.name, p.name)
            for p in parameters
            if p.default is inspect.Parameter.empty
        )
        accepted = {reverse.get(p.name, p.name) for p in parameters}
        REGISTRY[name] = Algorithm(
            name, function, required, frozenset(accepted), renamed
        )
        return function

    return register


def lookup(name: str) -> Algorithm:
    found = REGISTRY.get(name)
    if found is None:
        raise invalid_argument(f"Unknown algorithm: '{name}'.")
    return found


# --- Argument coercion ----------------------------------------------------------------


_TYPE_NAMES = {
    bool: "Boolean",
    int: "Integer",
    float: "Float",
    str: "String",
    list: "List",
    dict: "Dictionary",
    type(None): "null",
}


def type_name(value: Any) -> str:
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def wrong_type(
    algorithm_name: str, argument: str, expected: str, value: Any
) -> Exception:
    return invalid_argument(
        f"{algorithm_name}: Invalid type for argument '{argument}'. "
        f"Expected type: {expected}. Actual type: {type_name(value)}."
    )


def as_number(value: Any, algorithm_name: str, argument: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise wrong_type(algorithm_name, argument, "Number", value)
    return value


def as_optional_number(value: Any, algorithm_name: str, argument: str) -> float | None:
    return None if value is None else as_number(value, algorithm_name, argument)


def as_string(value: Any, algorithm_name: str, argument: str) -> str:
    if not isinstance(value, str):
        raise wrong_type(algorithm_name, argument, "String", value)
    return value


def as_list(value: Any, algorithm_name: str, argument: str) -> list[Any]:
    if isinstance(value, (list, tuple)):
        return list(value)
    raise wrong_type(algorithm_name, argument, "List", value)


def as_string_list(value: Any, algorithm_name: str, argument: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    items = as_list(value, algorithm_name, argument)
    if not all(isinstance(item, str) for item in items):
        raise wrong_type(algorithm_name, argument, "List<String>", value)
    return items


def as_image(value: Any, algorithm_name: str, argument: str) -> Image:
    """Accept an Image, or a number or list of numbers as a constant image."""
    if isinstance(value, Image):
        return value
    if isinstance(value, (int, float, list)) and not isinstance(value, bool):
        return constant_image(value)
    raise wrong_type(algorithm_name, argument, "Image", value)


def as_geometry(value: Any, algorithm_name: str, argument: str) -> Geometry:
    """Accept a Geometry, a Feature (its geometry) or a GeoJSON geometry object."""
    if isinstance(value, Geometry):
        return value
    if isinstance(value, Feature) and value.geometry is not None:
        return value.geometry
    if isinstance(value, dict) and "type" in value:
        return Geometry.from_geojson(value)
    raise wrong_type(algorithm_name, argument, "Geometry", value)


for _module in (
    "image_bands",
    "image_math",
    "image_masks",
    "image_spatial",
    "terrain",
    "neighborhoods",
    "visualize",
    "expression",
    "geometries",
    "filters",
    "collections",
    "features",
    "reducers",
    "regions",
    "numbers",
):
    importlib.import_module(f"standin.algorithms.{_module}")
