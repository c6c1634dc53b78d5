"""Earth Engine's band-math language (`Image.expression`).

`Image.parseExpression` returns a function that the client then invokes by
`functionReference` with the default image and the named variables. The
language is C-like: `+ - * / % **`, comparisons, `&& || !`, `cond ? a : b`,
maths functions, `b('name')` or `b(0)` for bands of the default image, and
`image.band` or `image['band']` for bands of a variable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from standin.algorithms import Env, algorithm, as_image, as_string, as_string_list
from standin.algorithms.image_math import (
    ARITHMETIC,
    BYTE,
    COMPARISONS,
    UNARY,
    binary_image,
    unary_image,
)
from standin.algorithms.image_math import where as where_algorithm
from standin.errors import invalid_argument
from standin.image import Image, constant_image, select_bands

NAME = "Image.parseExpression"
DEFAULT_IMAGE = "DEFAULT_EXPRESSION_IMAGE"

_TOKEN = re.compile(
    r"\s*(?:(?P<number>\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z_0-9]*)"
    r"|(?P<string>'[^']*'|\"[^\"]*\")"
    r"|(?P<op>\*\*|==|!=|<=|>=|&&|\|\||[-+*/%<>!?:(),.\[\]]))"
)

_BINARY = {
    "+": "Image.add",
    "-": "Image.subtract",
    "*": "Image.multiply",
    "/": "Image.divide",
    "%": "Image.mod",
    "**": "Image.pow",
    "<": "Image.lt",
    "<=": "Image.lte",
    ">": "Image.gt",
    ">=": "Image.gte",
    "==": "Image.eq",
    "!=": "Image.neq",
    "&&": "Image.and",
    "||": "Image.or",
}
_PRECEDENCE = [
    ("||",),
    ("&&",),
    ("==", "!="),
    ("<", "<=", ">", ">="),
    ("+", "-"),
    ("*", "/", "%"),
]
_FUNCTIONS_1 = {name.split(".", 1)[1]: name for name in UNARY}
_FUNCTIONS_2 = {
    "min": "Image.min",
    "max": "Image.max",
    "pow": "Image.pow",
    "atan2": "Image.atan2",
    "hypot": "Image.hypot",
}


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise invalid_argument(f"{NAME}: Syntax error at '{text[position:]}'.")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


class Parser:
    """Recursive-descent parser producing nested tuples."""

    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.index = 0

    def parse(self) -> Any:
        tree = self.ternary()
        if self.index != len(self.tokens):
            raise invalid_argument(
                f"{NAME}: Unexpected '{self.tokens[self.index][1]}'."
            )
        return tree

    def peek(self) -> str | None:
        return self.tokens[self.index][1] if self.index < len(self.tokens) else None

    def take(self, expected: str | None = None) -> tuple[str, str]:
        if self.index >= len(self.tokens):
            raise invalid_argument(f"{NAME}: Unexpected end of expression.")
        token = self.tokens[self.index]
        if expected is not None and token[1] != expected:
            raise invalid_argument(f"{NAME}: Expected '{expected}', got '{token[1]}'.")
        self.index += 1
        return token

    def ternary(self) -> Any:
        condition = self.binary(0)
        if self.peek() != "?":
            return condition
        self.take("?")
        when_true = self.ternary()
        self.take(":")
        return ("?", condition, when_true, self.ternary())

    def binary(self, level: int) -> Any:
        if level == len(_PRECEDENCE):
            return self.unary()
        left = self.binary(level + 1)
        while self.peek() in _PRECEDENCE[level]:
            operator = self.take()[1]
            left = ("op", operator, left, self.binary(level + 1))
        return left

    def unary(self) -> Any:
        if self.peek() in ("-", "+", "!"):
            operator = self.take()[1]
            return ("unary", operator, self.unary())
        return self.power()

    def power(self) -> Any:
        base = self.postfix()
        if self.peek() == "**":
            self.take()
            return ("op", "**", base, self.unary())
        return base

    def postfix(self) -> Any:
        node = self.primary()
        while self.peek() in (".", "[", "("):
            symbol = self.take()[1]
            if symbol == ".":
                node = ("band", node, ("str", self.take()[1]))
            elif symbol == "[":
                node = ("band", node, self.ternary())
                self.take("]")
            else:
                node = ("call", node, self.arguments())
        return node

    def arguments(self) -> list[Any]:
        values: list[Any] = []
        while self.peek() != ")":
            values.append(self.ternary())
            if self.peek() == ",":
                self.take(",")
        self.take(")")
        return values

    def primary(self) -> Any:
        kind, text = self.take()
        if kind == "number":
            return ("num", float(text) if any(c in text for c in ".eE") else int(text))
        if kind == "string":
            return ("str", text[1:-1])
        if kind == "name":
            return ("var", text)
        if text == "(":
            inner = self.ternary()
            self.take(")")
            return inner
        raise invalid_argument(f"{NAME}: Unexpected '{text}'.")


@dataclass(frozen=True)
class ParsedExpression:
    """A parsed expression, called with the default image and the variables."""

    tree: Any
    argument_name: str
    variables: tuple[str, ...]

    def __call__(self, evaluator: Any, arguments: dict[str, Any]) -> Image:
        default = arguments.get(self.argument_name)
        scope = {k: v for k, v in arguments.items() if k != self.argument_name}
        result = _Interpreter(default, scope).evaluate(self.tree)
        return result if isinstance(result, Image) else constant_image(result)


class _Interpreter:
    def __init__(self, default: Any, variables: dict[str, Any]) -> None:
        self.default = default
        self.variables = variables

    def evaluate(self, node: Any) -> Any:
        kind = node[0]
        if kind in ("num", "str"):
            return node[1]
        if kind == "var":
            return self._variable(node[1])
        if kind == "band":
            return self._band(self.evaluate(node[1]), self.evaluate(node[2]))
        if kind == "call":
            return self._call(node[1], [self.evaluate(a) for a in node[2]])
        if kind == "unary":
            return self._unary(node[1], self.evaluate(node[2]))
        if kind == "?":
            condition, yes, no = (self.evaluate(n) for n in node[1:])
            return where_algorithm(None, input=no, test=condition, value=yes)
        return self._binary(node[1], self.evaluate(node[2]), self.evaluate(node[3]))

    def _variable(self, name: str) -> Any:
        if name in self.variables:
            return self.variables[name]
        if isinstance(self.default, Image) and name in self.default.band_names:
            return self.default.with_bands(select_bands(self.default, [name], NAME))
        raise invalid_argument(f"{NAME}: Variable '{name}' is not defined.")

    def _band(self, image: Any, selector: Any) -> Image:
        source = as_image(image, NAME, "image")
        return source.with_bands(select_bands(source, [selector], NAME))

    def _call(self, function: Any, values: list[Any]) -> Any:
        if function == ("var", "b"):
            if self.default is None or len(values) != 1:
                raise invalid_argument(
                    f"{NAME}: b() needs a default image and one band."
                )
            return self._band(self.default, values[0])
        if not (isinstance(function, tuple) and function[0] == "var"):
            raise invalid_argument(f"{NAME}: Only named functions can be called.")
        name = function[1]
        if name in _FUNCTIONS_1 and len(values) == 1:
            rule, fn = UNARY[_FUNCTIONS_1[name]]
            return unary_image(as_image(values[0], NAME, name), rule, fn)
        if name in _FUNCTIONS_2 and len(values) == 2:
            return self._binary_named(_FUNCTIONS_2[name], *values)
        raise invalid_argument(
            f"{NAME}: Unknown function '{name}' with {len(values)} args."
        )

    def _unary(self, operator: str, value: Any) -> Any:
        if operator == "+":
            return value
        if operator == "-":
            return -value if _is_number(value) else self._binary("-", 0, value)
        if _is_number(value):
            return int(not value)
        rule, fn = UNARY["Image.not"]
        return unary_image(as_image(value, NAME, "!"), rule, fn)

    def _binary(self, operator: str, left: Any, right: Any) -> Any:
        return self._binary_named(_BINARY[operator], left, right)

    def _binary_named(self, name: str, left: Any, right: Any) -> Image:
        rule, fn = ARITHMETIC.get(name) or (lambda a, b: BYTE, COMPARISONS[name])
        first = as_image(left, NAME, "left")
        second = as_image(right, NAME, "right")
        return binary_image(name, first, second, rule, fn)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@algorithm("Image.parseExpression")
def parse_expression(
    env: Env,
    expression: Any,
    argName: Any = DEFAULT_IMAGE,
    vars: Any = None,
    mapFreeVarsToDefaultImageBands: Any = None,
) -> ParsedExpression:
    text = as_string(expression, NAME, "expression")
    names = tuple(as_string_list(vars, NAME, "vars")) if vars is not None else ()
    return ParsedExpression(
        Parser(text).parse(), as_string(argName, NAME, "argName"), names
    )
