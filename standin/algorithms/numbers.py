"""Numbers, strings, lists and dictionaries, for value:compute and arguments."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

from standin.algorithms import Env, algorithm, as_list, as_number, as_string
from standin.errors import invalid_argument

_NUMBER_BINARY: dict[str, Callable[[float, float], Any]] = {
    "add": operator.add,
    "subtract": operator.sub,
    "multiply": operator.mul,
    "divide": lambda a, b: 0 if b == 0 else a / b,
    "mod": lambda a, b: 0 if b == 0 else math.fmod(a, b),
    "pow": operator.pow,
    "max": max,
    "min": min,
    "eq": lambda a, b: int(a == b),
    "neq": lambda a, b: int(a != b),
    "lt": lambda a, b: int(a < b),
    "lte": lambda a, b: int(a <= b),
    "gt": lambda a, b: int(a > b),
    "gte": lambda a, b: int(a >= b),
    "and": lambda a, b: int(bool(a) and bool(b)),
    "or": lambda a, b: int(bool(a) or bool(b)),
}

_NUMBER_UNARY: dict[str, Callable[[float], Any]] = {
    "abs": abs,
    "sqrt": math.sqrt,
    "log": math.log,
    "log10": math.log10,
    "exp": math.exp,
    "round": round,
    "floor": math.floor,
    "ceil": math.ceil,
    "toInt": int,
    "int": int,
    "toFloat": float,
    "float": float,
    "not": lambda a: int(not a),
}


def _register_number_binary(
    short: str, function: Callable[[float, float], Any]
) -> None:
    name = f"Number.{short}"

    def run(env: Env, left: Any, right: Any) -> Any:
        return function(as_number(left, name, "left"), as_number(right, name, "right"))

    algorithm(name)(run)


def _register_number_unary(short: str, function: Callable[[float], Any]) -> None:
    name = f"Number.{short}"

    def run(env: Env, input: Any) -> Any:
        return function(as_number(input, name, "input"))

    algorithm(name)(run)


for _short, _binary in _NUMBER_BINARY.items():
    _register_number_binary(_short, _binary)
for _short, _unary in _NUMBER_UNARY.items():
    _register_number_unary(_short, _unary)


@algorithm("Number.parse")
def parse_number(env: Env, input: Any, radix: Any = 10) -> float:
    text = as_string(input, "Number.parse", "input")
    try:
        return int(text, int(radix)) if radix != 10 else float(text)
    except ValueError as error:
        raise invalid_argument(f"Number.parse: Invalid number '{text}'.") from error


@algorithm("String.cat")
def string_cat(env: Env, string1: Any, string2: Any) -> str:
    return as_string(string1, "String.cat", "string1") + as_string(
        string2, "String.cat", "string2"
    )


@algorithm("List.get")
def list_get(env: Env, list: Any, index: Any) -> Any:
    items = as_list(list, "List.get", "list")
    position = int(as_number(index, "List.get", "index"))
    if not -len(items) <= position < len(items):
        raise invalid_argument(f"List.get: Index {position} out of range.")
    return items[position]


@algorithm("List.size")
def list_size(env: Env, list: Any) -> int:
    return len(as_list(list, "List.size", "list"))


@algorithm("List.sequence")
def list_sequence(
    env: Env, start: Any, end: Any = None, step: Any = 1, count: Any = None
) -> list[float]:
    name = "List.sequence"
    first = as_number(start, name, "start")
    increment = as_number(step, name, "step")
    if count is not None:
        return [first + i * increment for i in range(int(count))]
    last = as_number(end, name, "end")
    values = []
    value = first
    while (increment > 0 and value <= last) or (increment < 0 and value >= last):
        values.append(value)
        value += increment
    return values


@algorithm("Dictionary")
def dictionary(env: Env, input: Any = None) -> dict[str, Any]:
    if input is None:
        return {}
    if isinstance(input, dict):
        return dict(input)
    items = as_list(input, "Dictionary", "input")
    return {str(items[i]): items[i + 1] for i in range(0, len(items) - 1, 2)}


@algorithm("Dictionary.get")
def dictionary_get(
    env: Env, dictionary: Any, key: Any, defaultValue: Any = None
) -> Any:
    if not isinstance(dictionary, dict):
        raise invalid_argument("Dictionary.get: Expected a Dictionary.")
    name = as_string(key, "Dictionary.get", "key")
    if name not in dictionary and defaultValue is None:
        raise invalid_argument(
            f"Dictionary.get: Dictionary does not contain key: {name}."
        )
    return dictionary.get(name, defaultValue)
