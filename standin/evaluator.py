"""Evaluate an Earth Engine Expression: a DAG of named value nodes.

`valueReference`s are resolved lazily and memoised, so a node shared by several
parents is evaluated once per scope. Function definitions become closures over
their scope; `argumentReference`s are looked up through the chain of scopes.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from standin.algorithms import Algorithm, lookup
from standin.catalog import Catalog
from standin.errors import EEError, invalid_argument

logger = logging.getLogger(__name__)

NODE_KINDS = (
    "constantValue",
    "integerValue",
    "bytesValue",
    "arrayValue",
    "dictionaryValue",
    "functionDefinitionValue",
    "functionInvocationValue",
    "argumentReference",
    "valueReference",
)


_LITERALS: dict[str, Callable[[Any], Any]] = {
    "constantValue": lambda content: content,
    "integerValue": int,
    "bytesValue": base64.b64decode,
}


class Scope:
    """Argument bindings of one function call, chained to the enclosing scope."""

    def __init__(self, bindings: dict[str, Any], parent: Scope | None = None) -> None:
        self.bindings = bindings
        self.parent = parent

    def lookup(self, name: str) -> Any:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.bindings:
                return scope.bindings[name]
            scope = scope.parent
        raise invalid_argument(f"Undefined argument reference '{name}'.")


@dataclass(frozen=True)
class Closure:
    """A `functionDefinitionValue` together with the scope it was defined in."""

    argument_names: tuple[str, ...]
    body: str
    scope: Scope


class Evaluator:
    """Evaluate one expression; not shared between threads."""

    def __init__(self, expression: dict[str, Any], catalog: Catalog) -> None:
        if not isinstance(expression, dict):
            raise invalid_argument("Invalid expression: expected an object.")
        values = expression.get("values")
        result = expression.get("result")
        if not isinstance(values, dict) or not isinstance(result, str):
            raise invalid_argument(
                "Invalid expression: 'values' and 'result' are required."
            )
        if result not in values:
            raise invalid_argument(
                f"Invalid expression: result '{result}' is not in 'values'."
            )
        self.values = values
        self.result = result
        self.catalog = catalog
        self._memo: dict[tuple[str, Scope], Any] = {}
        self._active: set[tuple[str, Scope]] = set()
        self._root = Scope({})

    def evaluate(self) -> Any:
        return self.reference(self.result, self._root)

    def reference(self, name: str, scope: Scope) -> Any:
        if name not in self.values:
            raise invalid_argument(
                f"Invalid expression: value '{name}' is not defined."
            )
        # Keying on the scope object (hashed by identity) keeps it alive while memoised.
        key = (name, scope)
        if key in self._memo:
            return self._memo[key]
        if key in self._active:
            raise invalid_argument(
                f"Invalid expression: value '{name}' refers to itself."
            )
        self._active.add(key)
        try:
            value = self.node(self.values[name], scope)
        finally:
            self._active.discard(key)
        self._memo[key] = value
        return value

    def node(self, node: Any, scope: Scope) -> Any:
        if not isinstance(node, dict):
            raise invalid_argument(f"Invalid expression node: {node!r}.")
        kinds = [kind for kind in NODE_KINDS if kind in node]
        if len(kinds) != 1:
            raise invalid_argument(
                "Invalid expression node: exactly one value kind must be set; "
                f"got {kinds}."
            )
        kind = kinds[0]
        content = node[kind]

        if kind in _LITERALS:
            return _LITERALS[kind](content)
        if kind == "arrayValue":
            return [self.node(item, scope) for item in content.get("values", [])]
        if kind == "dictionaryValue":
            values = content.get("values", {})
            return {key: self.node(item, scope) for key, item in values.items()}
        if kind == "functionDefinitionValue":
            return Closure(
                tuple(content.get("argumentNames", [])), content["body"], scope
            )
        if kind == "argumentReference":
            return scope.lookup(content)
        if kind == "valueReference":
            return self.reference(content, scope)
        return self.invocation(content, scope)

    def invocation(self, content: dict[str, Any], scope: Scope) -> Any:
        arguments = {
            name: self.node(value, scope)
            for name, value in content.get("arguments", {}).items()
        }
        if "functionName" in content:
            return self.call(lookup(content["functionName"]), arguments)
        if "functionReference" in content:
            return self.call(
                self.reference(content["functionReference"], scope), arguments
            )
        raise invalid_argument(
            "Invalid function invocation: 'functionName' or 'functionReference' "
            "is required."
        )

    def call(self, function: Any, arguments: dict[str, Any]) -> Any:
        """Call an algorithm, a closure or a parsed band-math expression."""
        if isinstance(function, Algorithm):
            return self._invoke(function, arguments)
        if isinstance(function, Closure):
            missing = [n for n in function.argument_names if n not in arguments]
            if missing:
                raise invalid_argument(f"Function call is missing arguments {missing}.")
            return self.reference(function.body, Scope(arguments, function.scope))
        if callable(function):
            return function(self, arguments)
        raise invalid_argument(
            f"Cannot call a value of type {type(function).__name__}."
        )

    def _invoke(self, function: Algorithm, arguments: dict[str, Any]) -> Any:
        try:
            return function.invoke(self, arguments)
        except EEError:
            raise
        except (
            TypeError,
            ValueError,
            KeyError,
            IndexError,
            ZeroDivisionError,
        ) as error:
            logger.debug("%s failed", function.name, exc_info=True)
            raise invalid_argument(f"{function.name}: {error}") from error
