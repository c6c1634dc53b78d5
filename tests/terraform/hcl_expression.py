"""HCL expression evaluation for the Terraform checks.

Evaluates the parse trees of the ``hcl2`` grammar (the bc-python-hcl2 fork that
checkov installs): literals, templates, operators with HCL's precedence, conditionals,
for expressions, ``try``/``can`` and the functions this configuration calls. Values
only known after apply stay symbolic as ``Ref`` and ``Template`` objects. Anything
else raises ``EvaluationError`` naming the construct, so a new one fails loudly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hcl2.parser import LARK_GRAMMAR
from lark import Lark, Token, Tree

if TYPE_CHECKING:
    from terraform_module import Module

_PARSER = Lark(LARK_GRAMMAR, parser="lalr", propagate_positions=True)


# Binary operators by binding strength, as in the HCL specification.
_PRECEDENCE = {
    "||": 1,
    "&&": 2,
    "==": 3,
    "!=": 3,
    "<": 4,
    ">": 4,
    "<=": 4,
    ">=": 4,
    "+": 5,
    "-": 5,
    "*": 6,
    "/": 6,
    "%": 6,
}


class EvaluationError(Exception):
    """An expression that this model cannot evaluate."""


@dataclass(frozen=True)
class Ref:
    """An attribute of a resource or data instance that is known only after apply."""

    address: str
    attribute: str = ""

    def __str__(self) -> str:
        return f"{self.address}.{self.attribute}" if self.attribute else self.address


@dataclass(frozen=True)
class Template:
    """A string that interpolates values known only after apply."""

    parts: tuple[Any, ...]

    def refs(self) -> list[Ref]:
        return [part for part in self.parts if isinstance(part, Ref)]


UNKNOWN_TYPES = (Ref, Template)


class Scope:
    """Evaluates expressions with var, local, each, count and resource references."""

    def __init__(
        self,
        module: Module,
        each: tuple[Any, Any] | None = None,
        count: Any = None,
        names: dict[str, Any] | None = None,
    ):
        self.module = module
        self.each = each
        self.count = count
        self.names = names or {}

    def child(self, **names: Any) -> Scope:
        return Scope(self.module, self.each, self.count, {**self.names, **names})

    def evaluate(self, node: Any) -> Any:
        if isinstance(node, Token):
            return _literal_token(node, self)
        method = getattr(self, "_" + node.data, None)
        if method is None:
            raise EvaluationError(f"unsupported expression {node.data}")
        return method(node)

    def _expr_term(self, node: Tree) -> Any:
        children = [c for c in node.children if not _is_newline(c)]
        if len(children) == 1:
            return self.evaluate(children[0])
        # A parenthesised expression keeps its brackets as tokens.
        inner = [c for c in children if isinstance(c, Tree)]
        return self.evaluate(inner[0])

    def _int_lit(self, node: Tree) -> int:
        return int("".join(str(c) for c in node.children))

    def _float_lit(self, node: Tree) -> float:
        return float("".join(str(c) for c in node.children))

    def _identifier(self, node: Tree) -> Any:
        name = str(node.children[0])
        constants = {"true": True, "false": False, "null": None}
        if name in constants:
            return constants[name]
        return self._root(name)

    def _root(self, name: str) -> Any:
        if name in self.names:
            return self.names[name]
        if name in ("var", "local", "each", "count", "path", "data"):
            return _Namespace(name, self)
        if name in self.module.resources or any(
            address.startswith(name + ".") for address in self.module.resources
        ):
            return _Namespace(name, self)
        raise EvaluationError(f"unknown name {name}")

    def _tuple(self, node: Tree) -> list[Any]:
        return [self.evaluate(c) for c in node.children if isinstance(c, Tree)]

    def _object(self, node: Tree) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for element in node.children:
            if not _is(element, "object_elem"):
                continue
            parts = [c for c in element.children if isinstance(c, Tree)]
            key_node, value_node = parts[0], parts[-1]
            if _is(key_node, "identifier"):
                key = str(key_node.children[0])
            else:
                key = self.evaluate(key_node)
            result[key] = self.evaluate(value_node)
        return result

    def _get_attr_expr_term(self, node: Tree) -> Any:
        base = self.evaluate(node.children[0])
        name = str(node.children[1].children[0].children[0])
        return _attribute(base, name)

    def _index_expr_term(self, node: Tree) -> Any:
        base = self.evaluate(node.children[0])
        index_node = node.children[1]
        inner = [c for c in index_node.children if isinstance(c, Tree)]
        if inner:
            key = self.evaluate(inner[0])
        else:
            key = int("".join(str(c) for c in index_node.children))
        return _index(base, key)

    def _function_call(self, node: Tree) -> Any:
        name = str(node.children[0].children[0])
        arguments = [c for c in node.children[1:] if _is(c, "arguments")]
        argument_nodes = (
            [c for c in arguments[0].children if isinstance(c, Tree)]
            if arguments
            else []
        )
        if name == "try":
            return self._try(argument_nodes)
        if name == "can":
            return self._can(argument_nodes[0])
        if name not in FUNCTIONS:
            raise EvaluationError(f"unsupported function {name}()")
        return FUNCTIONS[name](*[self.evaluate(a) for a in argument_nodes])

    def _try(self, nodes: list[Tree]) -> Any:
        for candidate in nodes:
            try:
                return self.evaluate(candidate)
            except (EvaluationError, KeyError, IndexError, TypeError):
                continue
        raise EvaluationError("no argument of try() could be evaluated")

    def _can(self, node: Tree) -> bool:
        try:
            self.evaluate(node)
        except (EvaluationError, KeyError, IndexError, TypeError, ValueError):
            return False
        return True

    def _conditional(self, node: Tree) -> Any:
        condition, if_true, if_false = [c for c in node.children if isinstance(c, Tree)]
        test = self.evaluate(condition)
        if isinstance(test, UNKNOWN_TYPES):
            raise EvaluationError("a condition depends on a value known after apply")
        return self.evaluate(if_true if test else if_false)

    def _unary_op(self, node: Tree) -> Any:
        operator = str(node.children[0])
        value = self.evaluate(node.children[1])
        return (not value) if operator == "!" else -value

    def _binary_op(self, node: Tree) -> Any:
        operands, operators = _flatten_binary(node)
        last = _unwrap(operands[-1])
        if _is(last, "conditional"):
            # "a == b ? c : d" parses as "a == (b ? c : d)", but HCL means
            # "(a == b) ? c : d".
            condition, if_true, if_false = [
                c for c in last.children if isinstance(c, Tree)
            ]
            test = self._precedence([*operands[:-1], condition], operators)
            if isinstance(test, UNKNOWN_TYPES):
                raise EvaluationError(
                    "a condition depends on a value known after apply"
                )
            return self.evaluate(if_true if test else if_false)
        return self._precedence(operands, operators)

    def _precedence(self, operands: list[Tree], operators: list[str]) -> Any:
        # The grammar nests chains to the right; regroup them by operator strength.
        if not operators:
            return self.evaluate(operands[0])
        weakest = min(
            range(len(operators)), key=lambda i: (_PRECEDENCE[operators[i]], -i)
        )
        left = self._precedence(operands[: weakest + 1], operators[:weakest])
        operator = operators[weakest]
        if operator == "&&" and left is False:
            return False
        if operator == "||" and left is True:
            return True
        right = self._precedence(operands[weakest + 1 :], operators[weakest + 1 :])
        return _binary(operator, left, right)

    def _for_tuple_expr(self, node: Tree) -> list[Any]:
        return [value for _, value in self._for_items(node, with_key=False)]

    def _for_object_expr(self, node: Tree) -> dict[Any, Any]:
        return dict(self._for_items(node, with_key=True))

    def _for_items(self, node: Tree, with_key: bool) -> Iterator[tuple[Any, Any]]:
        intro = next(c for c in node.children if _is(c, "for_intro"))
        condition = next((c for c in node.children if _is(c, "for_cond")), None)
        body = [
            c
            for c in node.children
            if isinstance(c, Tree) and c.data not in ("for_intro", "for_cond")
        ]
        names = [str(c.children[0]) for c in intro.children if _is(c, "identifier")]
        source_node = [c for c in intro.children if isinstance(c, Tree)][-1]
        source = self.evaluate(source_node)
        if isinstance(source, _Collection):
            source = source.as_map()
        if isinstance(source, UNKNOWN_TYPES):
            raise EvaluationError("a for expression iterates a value known after apply")
        pairs = source.items() if isinstance(source, dict) else enumerate(source)
        for key, value in pairs:
            bound = (
                {names[0]: value}
                if len(names) == 1
                else dict(zip(names, (key, value), strict=True))
            )
            scope = self.child(**bound)
            if condition is not None:
                test_node = [c for c in condition.children if isinstance(c, Tree)][0]
                test = scope.evaluate(test_node)
                if isinstance(test, UNKNOWN_TYPES):
                    raise EvaluationError(
                        "a for condition depends on a value known after apply"
                    )
                if not test:
                    continue
            if with_key:
                yield scope.evaluate(body[0]), scope.evaluate(body[1])
            else:
                yield None, scope.evaluate(body[0])


def _is(node: Any, name: str) -> bool:
    return isinstance(node, Tree) and node.data == name


def _expression_child(attribute: Tree) -> Tree:
    return next(child for child in attribute.children[1:] if isinstance(child, Tree))


def _is_newline(node: Any) -> bool:
    return isinstance(node, Token) and node.type.startswith("_NEW_LINE")


def _flatten_binary(node: Tree) -> tuple[list[Tree], list[str]]:
    operands: list[Tree] = []
    operators: list[str] = []
    while _is(node, "binary_op"):
        left, term = node.children[0], node.children[1]
        operands.append(left)
        operator_node = next(c for c in term.children if _is(c, "binary_operator"))
        operators.append(str(operator_node.children[0]))
        node = [c for c in term.children if isinstance(c, Tree)][-1]
    operands.append(node)
    return operands, operators


def _binary(operator: str, left: Any, right: Any) -> Any:
    if isinstance(left, UNKNOWN_TYPES) or isinstance(right, UNKNOWN_TYPES):
        # Resource attributes this configuration compares are names and emails, which
        # are never empty, so they differ from every literal.
        if operator in ("==", "!="):
            return (operator == "!=") if left != right else (operator == "==")
        raise EvaluationError(f"{operator} on a value known after apply")
    operations: dict[str, Callable[[Any, Any], Any]] = {
        "==": lambda a, b: a == b,
        "!=": lambda a, b: a != b,
        "<": lambda a, b: a < b,
        ">": lambda a, b: a > b,
        "<=": lambda a, b: a <= b,
        ">=": lambda a, b: a >= b,
        "+": lambda a, b: a + b,
        "-": lambda a, b: a - b,
        "*": lambda a, b: a * b,
        "/": lambda a, b: a / b,
        "%": lambda a, b: a % b,
        "&&": lambda a, b: bool(a and b),
        "||": lambda a, b: bool(a or b),
    }
    return operations[operator](left, right)


def _literal_token(token: Token, scope: Scope) -> Any:
    if token.type != "STRING_LIT":
        raise EvaluationError(f"unsupported token {token.type}")
    return _template(str(token)[1:-1], scope)


def _template(text: str, scope: Scope) -> Any:
    parts: list[Any] = []
    position = 0
    literal = ""
    while position < len(text):
        if text.startswith("$${", position):
            literal += "${"
            position += 3
        elif text.startswith("${", position):
            end = _closing_brace(text, position + 2)
            parts.append(_unescape(literal))
            literal = ""
            inner = _PARSER.parse(f"x = {text[position + 2 : end]}\n")
            parts.append(
                scope.evaluate(_expression_child(inner.children[0].children[0]))
            )
            position = end + 1
        else:
            literal += text[position]
            position += 1
    parts.append(_unescape(literal))
    parts = [part for part in parts if part != ""]
    if any(isinstance(part, UNKNOWN_TYPES) for part in parts):
        flat: list[Any] = []
        for part in parts:
            flat.extend(part.parts if isinstance(part, Template) else [part])
        return Template(tuple(flat))
    if len(parts) == 1 and not isinstance(parts[0], str):
        return parts[0]
    return "".join(_to_string(part) for part in parts)


def _closing_brace(text: str, start: int) -> int:
    depth = 1
    quoted = False
    for position in range(start, len(text)):
        character = text[position]
        if character == '"' and text[position - 1] != "\\":
            quoted = not quoted
        elif not quoted and character == "{":
            depth += 1
        elif not quoted and character == "}":
            depth -= 1
            if depth == 0:
                return position
    raise EvaluationError(f"unterminated interpolation in {text!r}")


def _unescape(text: str) -> str:
    return json.loads(f'"{text}"') if "\\" in text else text


def _to_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class _Namespace:
    """A partial reference such as ``var``, ``local`` or ``google_storage_bucket``."""

    def __init__(self, path: str, scope: Scope):
        self.path = path
        self.scope = scope

    def attribute(self, name: str) -> Any:
        module = self.scope.module
        if self.path == "var":
            return module.variable(name)
        if self.path == "local":
            return module.local(name)
        if self.path == "each":
            if self.scope.each is None:
                raise EvaluationError("each is used outside for_each")
            return self.scope.each[0] if name == "key" else self.scope.each[1]
        if self.path == "count":
            return self.scope.count
        if self.path == "path":
            return str(module.directory)
        address = f"{self.path}.{name}"
        if address in module.resources:
            block = module.resources[address]
            if "for_each" in block.attributes or "count" in block.attributes:
                return _Collection(address, self.scope)
            return module.reference(address, None, "")
        return _Namespace(address, self.scope)


class _Collection:
    """A resource with for_each or count, waiting for its instance key."""

    def __init__(self, address: str, scope: Scope):
        self.address = address
        self.scope = scope

    def index(self, key: Any) -> Ref:
        return self.scope.module.reference(self.address, key, "")

    def as_map(self) -> dict[Any, Ref]:
        """Return the instances by key, as a for expression sees them."""
        block = self.scope.module.resources[self.address]
        return {
            instance.key: self.index(instance.key)
            for instance in self.scope.module.expand(block)
        }


def _attribute(base: Any, name: str) -> Any:
    if isinstance(base, _Namespace):
        return base.attribute(name)
    if isinstance(base, Ref):
        attribute = f"{base.attribute}.{name}" if base.attribute else name
        return Ref(base.address, attribute)
    if isinstance(base, dict):
        if name not in base:
            raise EvaluationError(f"object has no attribute {name}")
        return base[name]
    raise EvaluationError(f"cannot read attribute {name} of {type(base).__name__}")


def _index(base: Any, key: Any) -> Any:
    if isinstance(base, _Collection):
        return base.index(key)
    if isinstance(base, Ref):
        # This configuration reads no map attribute by key, so a string key on a Ref
        # indexes a string, which Terraform rejects as well.
        if not isinstance(key, int):
            raise EvaluationError(f"cannot index {base} with {key!r}")
        return Ref(base.address, f"{base.attribute}[{key}]")
    if isinstance(base, dict):
        if key not in base:
            raise EvaluationError(f"key {key!r} not found")
        return base[key]
    if isinstance(base, (list, tuple)) and isinstance(key, int):
        return base[key]
    raise EvaluationError(f"cannot index {type(base).__name__} with {key!r}")


def _merge(*maps: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for item in maps:
        merged.update(item)
    return merged


def _flatten(items: list[Any]) -> list[Any]:
    flat: list[Any] = []
    for item in items:
        flat.extend(_flatten(item) if isinstance(item, list) else [item])
    return flat


def _distinct(items: list[Any]) -> list[Any]:
    found: list[Any] = []
    for item in items:
        if item not in found:
            found.append(item)
    return found


def _setproduct(*sets: list[Any]) -> list[list[Any]]:
    product: list[list[Any]] = [[]]
    for items in sets:
        product = [prefix + [item] for prefix in product for item in items]
    return product


def _join(separator: str, items: list[Any]) -> Any:
    if any(isinstance(item, UNKNOWN_TYPES) for item in items):
        return Template(tuple(items))
    return separator.join(_to_string(item) for item in items)


def _coalesce(*values: Any) -> Any:
    return next(value for value in values if value is not None and value != "")


def _regex(pattern: str, text: str) -> str:
    # Terraform's regex() fails when nothing matches, which can() turns into false.
    match = re.search(pattern, text)
    if match is None:
        raise ValueError(f"{pattern!r} does not match {text!r}")
    return match.group(0)


def _mapping(value: Any) -> dict[Any, Any]:
    # keys() and values() reject lists in Terraform, which can() relies on.
    if not isinstance(value, dict):
        raise TypeError(f"{type(value).__name__} is not a map or object")
    return value


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "abspath": lambda path: str(Path(path).resolve()),
    "alltrue": lambda items: all(items),
    "anytrue": lambda items: any(items),
    "coalesce": _coalesce,
    "concat": lambda *lists: [item for items in lists for item in items],
    "contains": lambda items, value: value in items,
    "distinct": _distinct,
    "flatten": _flatten,
    "floor": lambda number: int(number // 1),
    "join": _join,
    "jsondecode": json.loads,
    "keys": lambda mapping: sorted(_mapping(mapping)),
    "length": len,
    "lower": str.lower,
    "max": max,
    "merge": _merge,
    "min": min,
    "regex": _regex,
    "replace": lambda text, old, new: text.replace(old, new),
    "setproduct": _setproduct,
    "sort": sorted,
    "toset": lambda items: _distinct(sorted(items, key=str)),
    "tolist": list,
    "tostring": _to_string,
    "upper": str.upper,
    "values": lambda mapping: [mapping[key] for key in sorted(_mapping(mapping))],
}


def apply_type_defaults(type_node: Tree, value: Any, scope: Scope) -> Any:
    """Fill ``optional(type, default)`` attributes the value leaves out."""
    call = _type_call(type_node)
    if call is None:
        return value
    name, arguments = call
    if name in ("map", "list", "set") and arguments and value is not None:
        if isinstance(value, dict):
            return {
                key: apply_type_defaults(arguments[0], item, scope)
                for key, item in value.items()
            }
        return [apply_type_defaults(arguments[0], item, scope) for item in value]
    if name == "object" and isinstance(value, dict):
        return _object_defaults(arguments[0], value, scope)
    return value


def _object_defaults(fields_node: Tree, value: dict[str, Any], scope: Scope) -> Any:
    result = dict(value)
    fields = _unwrap(fields_node)
    for element in fields.children:
        if not _is(element, "object_elem"):
            continue
        parts = [c for c in element.children if isinstance(c, Tree)]
        key = str(parts[0].children[0])
        field_type = parts[-1]
        call = _type_call(field_type)
        if call and call[0] == "optional":
            inner = call[1][0]
            if key not in result or result[key] is None:
                default = scope.evaluate(call[1][1]) if len(call[1]) > 1 else None
                result[key] = default
            if result[key] is not None:
                result[key] = apply_type_defaults(inner, result[key], scope)
        elif key in result:
            result[key] = apply_type_defaults(field_type, result[key], scope)
    return result


def _unwrap(node: Tree) -> Tree:
    while _is(node, "expr_term") and len(node.children) == 1:
        node = node.children[0]
    return node


def _type_call(node: Tree) -> tuple[str, list[Tree]] | None:
    node = _unwrap(node)
    if not _is(node, "function_call"):
        return None
    name = str(node.children[0].children[0])
    arguments = [c for c in node.children[1:] if _is(c, "arguments")]
    nodes = (
        [c for c in arguments[0].children if isinstance(c, Tree)] if arguments else []
    )
    return name, nodes
