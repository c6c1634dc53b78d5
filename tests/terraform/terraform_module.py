"""A static model of a Terraform root module: parsed blocks and evaluated instances.

Terraform cannot run here, so this module does the part of ``terraform plan`` the
checks need. It parses every ``.tf`` file with the HCL2 grammar of ``hcl2`` (the
bc-python-hcl2 fork that checkov installs), evaluates variables (defaults, tfvars and
``optional()`` defaults), locals, ``count`` and ``for_each``, and expands each resource
into its instances. Values only known after apply, such as a bucket's ``name`` read
through ``google_storage_bucket.renders.name``, stay symbolic as ``Ref`` objects, so
a check can tell which resource a grant or an environment variable points at.

It covers the expressions and functions this configuration uses. Anything else raises
``EvaluationError`` naming the expression, so a new construct fails loudly instead of
being read wrongly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from hcl2.parser import LARK_GRAMMAR
from lark import Lark, Token, Tree

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


@dataclass
class Block:
    """One block of a .tf file, with its attributes and nested blocks as parse trees."""

    kind: str
    labels: tuple[str, ...]
    attributes: dict[str, Tree]
    blocks: list[Block]
    path: Path
    line: int

    @property
    def address(self) -> str:
        if self.kind == "data":
            return "data." + ".".join(self.labels)
        return ".".join(self.labels)


@dataclass
class Instance:
    """One resource or data instance after count and for_each expansion."""

    block: Block
    address: str
    key: Any
    values: dict[str, Any] = field(default_factory=dict)
    depends_on: list[Any] = field(default_factory=list)

    @property
    def type(self) -> str:
        return self.block.labels[0]

    def references(self) -> set[str]:
        """Addresses of the blocks this instance reads or names in depends_on."""
        found: set[str] = set()
        for value in [self.values, self.depends_on]:
            for ref in iter_refs(value):
                found.add(block_address(ref.address))
        return found


def iter_refs(value: Any) -> Iterator[Ref]:
    """Yield every Ref inside a value, including those inside templates."""
    if isinstance(value, Ref):
        yield value
    elif isinstance(value, Template):
        yield from value.refs()
    elif isinstance(value, dict):
        for item in value.values():
            yield from iter_refs(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from iter_refs(item)
    elif isinstance(value, _Collection):
        yield Ref(value.address)


def block_address(address: str) -> str:
    """Strip the instance key: google_x.main["a"] becomes google_x.main."""
    return address.split("[", 1)[0]


def parse_file(path: Path) -> list[Block]:
    """Parse one .tf file into its top-level blocks."""
    tree = _PARSER.parse(path.read_text() + "\n")
    body = next(child for child in tree.children if _is(child, "body"))
    return [_block(child, path) for child in body.children if _is(child, "block")]


def _is(node: Any, name: str) -> bool:
    return isinstance(node, Tree) and node.data == name


def _block(tree: Tree, path: Path) -> Block:
    labels: list[str] = []
    attributes: dict[str, Tree] = {}
    blocks: list[Block] = []
    for child in tree.children:
        if _is(child, "identifier") or isinstance(child, Token):
            labels.append(_label(child))
        elif _is(child, "body"):
            for item in child.children:
                if _is(item, "attribute"):
                    name = _label(item.children[0])
                    attributes[name] = _expression_child(item)
                elif _is(item, "block"):
                    blocks.append(_block(item, path))
    return Block(labels[0], tuple(labels[1:]), attributes, blocks, path, tree.meta.line)


def _label(node: Any) -> str:
    if isinstance(node, Tree):
        node = node.children[0]
    return str(node).strip('"')


def _expression_child(attribute: Tree) -> Tree:
    return next(child for child in attribute.children[1:] if isinstance(child, Tree))


class Module:
    """A Terraform root module loaded from a directory and evaluated with tfvars."""

    def __init__(self, directory: Path, tfvars: Mapping[str, Any] | None = None):
        self.directory = directory
        self.tfvars = dict(tfvars or {})
        self.blocks = [
            block
            for path in sorted(directory.glob("*.tf"))
            for block in parse_file(path)
        ]

    def of_kind(self, kind: str) -> list[Block]:
        return [block for block in self.blocks if block.kind == kind]

    @cached_property
    def variables(self) -> dict[str, Block]:
        return {block.labels[0]: block for block in self.of_kind("variable")}

    @cached_property
    def local_expressions(self) -> dict[str, Tree]:
        found: dict[str, Tree] = {}
        for block in self.of_kind("locals"):
            found.update(block.attributes)
        return found

    @cached_property
    def resources(self) -> dict[str, Block]:
        return {
            block.address: block
            for block in self.blocks
            if block.kind in ("resource", "data")
        }

    @cached_property
    def _variable_values(self) -> dict[str, Any]:
        return {name: self._variable_value(name) for name in self.variables}

    def _variable_value(self, name: str) -> Any:
        block = self.variables[name]
        scope = Scope(self)
        if name in self.tfvars:
            value = self.tfvars[name]
        elif "default" in block.attributes:
            value = scope.evaluate(block.attributes["default"])
        else:
            raise EvaluationError(f"variable {name} has no default and no tfvars value")
        if "type" in block.attributes and value is not None:
            value = apply_type_defaults(block.attributes["type"], value, scope)
        return value

    @cached_property
    def _locals(self) -> dict[str, Any]:
        return {}

    def local(self, name: str) -> Any:
        if name not in self._locals:
            if name not in self.local_expressions:
                raise EvaluationError(f"local.{name} is not defined")
            self._locals[name] = Scope(self).evaluate(self.local_expressions[name])
        return self._locals[name]

    def variable(self, name: str) -> Any:
        if name not in self.variables:
            raise EvaluationError(f"var.{name} is not declared")
        return self._variable_values[name]

    @cached_property
    def instances(self) -> list[Instance]:
        """Every resource and data instance, with top-level attributes evaluated."""
        return [
            instance
            for block in self.resources.values()
            for instance in self.expand(block)
        ]

    def expand(self, block: Block) -> list[Instance]:
        scope = Scope(self)
        if "for_each" in block.attributes:
            collection = scope.evaluate(block.attributes["for_each"])
            if isinstance(collection, UNKNOWN_TYPES):
                raise EvaluationError(
                    f"{block.address}: for_each keys must be known before apply"
                )
            items = (
                collection.items()
                if isinstance(collection, dict)
                else ((item, item) for item in collection)
            )
            return [
                self._instance(block, f'{block.address}["{key}"]', key, value)
                for key, value in items
            ]
        if "count" in block.attributes:
            count = scope.evaluate(block.attributes["count"])
            return [
                self._instance(block, f"{block.address}[{index}]", index, None)
                for index in range(count)
            ]
        return [self._instance(block, block.address, None, None)]

    def _instance(self, block: Block, address: str, key: Any, value: Any) -> Instance:
        scope = Scope(self, each=(key, value), count=key)
        depends_on = []
        if "depends_on" in block.attributes:
            depends_on = scope.evaluate(block.attributes["depends_on"])
        return Instance(block, address, key, _body(block, scope), depends_on)

    def instances_of(self, resource_type: str) -> list[Instance]:
        return [i for i in self.instances if i.type == resource_type]

    def reference(self, address: str, key: Any, attribute: str) -> Ref:
        if address not in self.resources:
            raise EvaluationError(f"{address} is not declared")
        instance = address if key is None else f'{address}["{key}"]'
        if isinstance(key, int):
            instance = f"{address}[{key}]"
        return Ref(instance, attribute)


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


_META_ATTRIBUTES = ("for_each", "count", "depends_on", "provider")


def _body(block: Block, scope: Scope) -> dict[str, Any]:
    """Evaluate a block's attributes, with nested blocks as lists of dicts.

    ``dynamic`` blocks are expanded: their content is evaluated once per element with
    the iterator (the block's label) bound to ``{"key": ..., "value": ...}``.
    """
    values: dict[str, Any] = {
        name: scope.evaluate(expression)
        for name, expression in block.attributes.items()
        if name not in _META_ATTRIBUTES
    }
    for nested in block.blocks:
        if nested.kind in ("lifecycle", "provisioner", "connection"):
            continue
        if nested.kind == "dynamic":
            values.setdefault(nested.labels[0], []).extend(_dynamic(nested, scope))
        else:
            values.setdefault(nested.kind, []).append(_body(nested, scope))
    return values


def _dynamic(block: Block, scope: Scope) -> list[dict[str, Any]]:
    collection = scope.evaluate(block.attributes["for_each"])
    if isinstance(collection, UNKNOWN_TYPES):
        raise EvaluationError(
            f"dynamic {block.labels[0]}: for_each is known after apply"
        )
    iterator = block.labels[0]
    if "iterator" in block.attributes:
        iterator = str(_unwrap(block.attributes["iterator"]).children[0])
    pairs = (
        collection.items() if isinstance(collection, dict) else enumerate(collection)
    )
    content = next(nested for nested in block.blocks if nested.kind == "content")
    return [
        _body(content, scope.child(**{iterator: {"key": key, "value": value}}))
        for key, value in pairs
    ]


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


_INTERPOLATION = re.compile(r"\$\{")


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


def _unknown(*arguments: Any) -> Template:
    return Template(("<known after apply>",))


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
    "keys": lambda mapping: sorted(mapping),
    "length": len,
    "lower": str.lower,
    "max": max,
    "merge": _merge,
    "min": min,
    "regex": lambda pattern, text: re.search(pattern, text).group(0),  # type: ignore[union-attr]
    "replace": lambda text, old, new: text.replace(old, new),
    "setproduct": _setproduct,
    "sort": sorted,
    "toset": lambda items: _distinct(sorted(items, key=str)),
    "tolist": list,
    "tostring": _to_string,
    "upper": str.upper,
    "values": lambda mapping: [mapping[key] for key in sorted(mapping)],
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
