"""A static model of a Terraform root module: parsed blocks and evaluated instances.

Terraform cannot run here, so this module does the part of ``terraform plan`` the
checks need. It parses every ``.tf`` file, evaluates variables (defaults, tfvars and
``optional()`` defaults), locals, ``count``, ``for_each`` and ``dynamic`` blocks, and
expands each resource into its instances. Values only known after apply, such as a
bucket's ``name`` read through ``google_storage_bucket.renders.name``, stay symbolic
as ``Ref`` objects, so a check can tell which resource a grant or an environment
variable points at.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from hcl_expression import (
    _PARSER,
    UNKNOWN_TYPES,
    EvaluationError,
    Ref,
    Scope,
    Template,
    _Collection,
    _expression_child,
    _is,
    _unwrap,
    apply_type_defaults,
)
from lark import Token, Tree


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
    # each.value (or count.index) the instance was evaluated with.
    each_value: Any = None

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
        return Instance(block, address, key, _body(block, scope), depends_on, value)

    def instances_of(self, resource_type: str) -> list[Instance]:
        return [i for i in self.instances if i.type == resource_type]

    def reference(self, address: str, key: Any, attribute: str) -> Ref:
        if address not in self.resources:
            raise EvaluationError(f"{address} is not declared")
        instance = address if key is None else f'{address}["{key}"]'
        if isinstance(key, int):
            instance = f"{address}[{key}]"
        return Ref(instance, attribute)


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
