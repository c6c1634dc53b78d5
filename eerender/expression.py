"""Earth Engine Expression checks and the in-memory value tree they produce.

An Expression is ``{"result": name, "values": {name: ValueNode}}``. Each ValueNode sets
exactly one kind (``constantValue``, ``functionInvocationValue``, ...), and nodes refer
to named values by ``valueReference``, ``functionReference`` and
``functionDefinitionValue.body``. ``parse_expression`` checks a request's expression
without recursion, so a hostile body cannot exhaust the stack. It then decodes the
expression into a tree of ``Invocation``, ``FunctionDefinition``, ``ArgumentReference``
and ``Alias`` objects plus plain JSON values. ``eerender.serializer`` encodes that tree
back the way the official client does.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from eerender.validation import child, excerpt, invalid, known_keys

INVALID = "INVALID_EXPRESSION"
TOO_LARGE = "EXPRESSION_TOO_LARGE"
TOO_DEEP = "EXPRESSION_TOO_DEEP"

KINDS = (
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

# Decoding and encoding recurse once or twice per nesting level. Earth Engine rejects
# nesting beyond 100 levels, so this bound costs no valid expression and keeps the
# recursion far below Python's default limit of 1000 frames.
MAX_SUPPORTED_DEPTH = 250

_INT64 = re.compile(r"-?[0-9]{1,19}")

Value = Any
"""A decoded value: JSON data, bytes, or one of the node classes below."""


@dataclass(frozen=True, eq=False)
class Invocation:
    """A call of a named algorithm, or of a value that evaluates to a function."""

    function_name: str | None
    arguments: dict[str, Value]
    function: Value = None


@dataclass(frozen=True, eq=False)
class FunctionDefinition:
    """A function whose body refers to its arguments by ``ArgumentReference``."""

    argument_names: tuple[str, ...]
    body: Value


@dataclass(frozen=True)
class ArgumentReference:
    """A use of an argument of the enclosing ``FunctionDefinition``."""

    name: str


@dataclass(frozen=True, eq=False)
class Alias:
    """A named value that is itself a reference to another value.

    The official client writes ``ee.List`` and ``ee.Dictionary`` objects this way.
    Keeping the alias lets a re-encoded graph name and share values as the client does.
    """

    target: Value


class _ExplicitNull:
    """An invocation argument that was sent as ``{"constantValue": null}``.

    The official client drops ``None`` arguments, so a plain ``None`` would vanish on
    re-encoding. This marker keeps a null that the caller wrote on purpose.
    """

    def __repr__(self) -> str:
        return "NULL_ARGUMENT"


NULL_ARGUMENT = _ExplicitNull()


def invoke(function_name: str, **arguments: Value) -> Invocation:
    """Return a call of ``function_name`` without its ``None`` arguments."""
    present = {name: value for name, value in arguments.items() if value is not None}
    return Invocation(function_name, present)


@dataclass(frozen=True)
class Expression:
    """A checked expression: the decoded result and what the checks measured."""

    root: Value
    node_count: int
    depth: int


@dataclass
class _Entry:
    """One named value while the graph is checked."""

    node: Any
    pointer: str
    height: int = 0
    # (target name, offset): the target's depth plus offset bounds this value's depth.
    edges: list[tuple[str, int, str]] = field(default_factory=list)
    argument_uses: set[str] = field(default_factory=set)
    # (argument names, body name) of each function defined inline in this value.
    definitions: list[tuple[tuple[str, ...], str]] = field(default_factory=list)


def parse_expression(
    raw: object, field_pointer: str, *, max_nodes: int, max_depth: int
) -> Expression:
    """Check an expression from a request and decode it into a value tree.

    Args:
        raw: An Expression object, the quasi-Expression that ``serialize(pretty=True)``
            returns (one ValueNode with everything inline), or a JSON string of either.
        field_pointer: JSON pointer of the expression in the request, for errors.
        max_nodes: Maximum number of ValueNodes, counted over all of ``values``.
        max_depth: Deepest nesting accepted, counting inline nesting, the levels of
            nested constants, and the chains formed by references.

    Raises:
        InvalidRequest: ``INVALID_EXPRESSION`` for malformed graphs,
            ``EXPRESSION_TOO_LARGE`` and ``EXPRESSION_TOO_DEEP`` for limits.
    """
    depth_limit = min(max_depth, MAX_SUPPORTED_DEPTH)
    data = _load(raw, field_pointer)
    entries, result = _entries(data, field_pointer)
    checker = _GraphChecker(entries, max_nodes, depth_limit, field_pointer)
    checker.check_nodes()
    depth = checker.check_graph(result)
    root = _Decoder(entries).decode_entry(result)
    return Expression(root=root, node_count=checker.node_count, depth=depth)


def _load(raw: object, field_pointer: str) -> dict[str, Any]:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except RecursionError:
            raise invalid(
                f"{field_pointer} is a JSON string nested too deeply to decode.",
                field_pointer,
                raw,
                code=TOO_DEEP,
            ) from None
        except ValueError as error:
            raise invalid(
                f"{field_pointer} is a string but not valid JSON ({error}). Send the "
                "Expression object, or the string that ee.serializer.toJSON returns.",
                field_pointer,
                raw,
                code=INVALID,
            ) from None
    if not isinstance(raw, dict):
        raise invalid(
            f"{field_pointer} must be an Earth Engine Expression object "
            '{"result": ..., "values": {...}}, got '
            f"{type(raw).__name__} {excerpt(raw)}.",
            field_pointer,
            raw,
            code=INVALID,
        )
    if "type" in raw:
        raise invalid(
            f"{field_pointer} is in the legacy (pre-Cloud API) encoding with a "
            '"type" member. Encode it with ee.serializer.encode(obj, '
            "for_cloud_api=True) instead.",
            child(field_pointer, "type"),
            raw.get("type"),
            code=INVALID,
        )
    return raw


def _entries(data: dict[str, Any], field_pointer: str) -> tuple[dict[str, _Entry], str]:
    if any(kind in data for kind in KINDS) and "values" not in data:
        # A quasi-Expression: a single node with all values inline.
        return {"": _Entry(data, field_pointer)}, ""

    known_keys(data, ("result", "values"), field_pointer, code=INVALID)
    values = data.get("values")
    values_pointer = child(field_pointer, "values")
    if not isinstance(values, dict) or not values:
        raise invalid(
            f"{values_pointer} must be a non-empty object of named value nodes, got "
            f"{excerpt(values)}.",
            values_pointer,
            values,
            code=INVALID,
        )
    result = data.get("result")
    if not isinstance(result, str) or result not in values:
        raise invalid(
            f"{child(field_pointer, 'result')} must name one of the values "
            f"({excerpt(sorted(values))}), got {excerpt(result)}.",
            child(field_pointer, "result"),
            result,
            code=INVALID,
        )
    entries = {
        name: _Entry(node, child(values_pointer, name)) for name, node in values.items()
    }
    return entries, result


class _GraphChecker:
    """Checks every node, then the graph of named values, without recursion."""

    def __init__(
        self,
        entries: dict[str, _Entry],
        max_nodes: int,
        max_depth: int,
        field_pointer: str,
    ) -> None:
        self._entries = entries
        self._max_nodes = max_nodes
        self._max_depth = max_depth
        self._field_pointer = field_pointer
        self._inline_count = 0
        self._pending: list[str] = []
        self.node_count = 0

    def check_nodes(self) -> None:
        """Check the shape of every node of every named value."""
        self._pending = list(self._entries)
        while self._pending:
            self._check_entry(self._pending.pop())

    def _check_entry(self, name: str) -> None:
        entry = self._entries[name]
        stack: list[tuple[Any, str, int]] = [(entry.node, entry.pointer, 1)]
        while stack:
            node, where, level = stack.pop()
            self._count(node, where)
            self._check_level(level, where)
            kind = _kind(node, where)
            content = node[kind]
            kind_pointer = child(where, kind)
            if kind == "constantValue":
                depth = _constant_depth(content, kind_pointer, level, self._max_depth)
                entry.height = max(entry.height, level + depth)
                continue
            entry.height = max(entry.height, level)
            if kind == "integerValue":
                _check_integer(content, kind_pointer)
            elif kind == "bytesValue":
                _check_bytes(content, kind_pointer)
            elif kind == "argumentReference":
                entry.argument_uses.add(_name(content, kind_pointer))
            elif kind == "valueReference":
                target = self._reference(content, kind_pointer)
                entry.edges.append((target, level - 1, kind_pointer))
            else:
                children = self._children(entry, kind, content, kind_pointer, level)
                stack.extend((node, at, level + 1) for node, at in children)

    def _count(self, node: object, where: str) -> None:
        self.node_count += 1
        if self.node_count > self._max_nodes:
            raise invalid(
                f"The expression has more than {self._max_nodes} value nodes (counted "
                f"up to {where}). Simplify it, or move parts of it into an asset.",
                where,
                node,
                code=TOO_LARGE,
                limit=self._max_nodes,
            )

    def _check_level(self, level: int, where: str) -> None:
        if level > self._max_depth:
            raise invalid(
                f"The expression nests deeper than {self._max_depth} levels at "
                f"{where}. Flatten it, for example by naming shared values.",
                where,
                level,
                code=TOO_DEEP,
                limit=self._max_depth,
            )

    def _reference(self, name: object, where: str) -> str:
        checked = _name(name, where)
        if checked not in self._entries or checked.startswith("\0"):
            raise invalid(
                f"{where} refers to value {excerpt(checked)}, which is not in "
                f"{child(self._field_pointer, 'values')}. Every reference must name "
                "a value of the same expression.",
                where,
                checked,
                code=INVALID,
            )
        return checked

    def _inline_entry(self, node: Any, where: str) -> str:
        # A quasi-Expression carries function bodies inline; giving each one a
        # private name lets the graph checks treat both encodings alike.
        self._inline_count += 1
        name = f"\0inline-{self._inline_count}"
        self._entries[name] = _Entry(node, where)
        self._pending.append(name)
        return name

    def _children(
        self, entry: _Entry, kind: str, content: Any, where: str, level: int
    ) -> Iterator[tuple[Any, str]]:
        """Yield the inline child nodes of a node, recording its named references."""
        if kind == "arrayValue":
            values = _members(content, where, "values", list)
            for index, item in enumerate(values):
                yield item, child(where, "values", index)
        elif kind == "dictionaryValue":
            values = _members(content, where, "values", dict)
            for key, item in values.items():
                yield item, child(where, "values", key)
        elif kind == "functionDefinitionValue":
            self._definition(entry, content, where, level)
        else:
            yield from self._invocation(entry, content, where, level)

    def _definition(self, entry: _Entry, content: Any, where: str, level: int) -> None:
        _only_members(content, where, ("argumentNames", "body"))
        names = content.get("argumentNames", [])
        names_pointer = child(where, "argumentNames")
        if not isinstance(names, list) or len(set(map(str, names))) != len(names):
            raise invalid(
                f"{names_pointer} must be a list of distinct argument names, got "
                f"{excerpt(names)}.",
                names_pointer,
                names,
                code=INVALID,
            )
        for index, name in enumerate(names):
            _name(name, child(names_pointer, index))
        body_pointer = child(where, "body")
        body = self._named_or_inline(content.get("body"), body_pointer)
        entry.edges.append((body, level, body_pointer))
        entry.definitions.append((tuple(names), body))

    def _invocation(
        self, entry: _Entry, content: Any, where: str, level: int
    ) -> Iterator[tuple[Any, str]]:
        _only_members(
            content, where, ("functionName", "functionReference", "arguments")
        )
        has_name = "functionName" in content
        if has_name == ("functionReference" in content):
            raise invalid(
                f"{where} must set exactly one of functionName and functionReference.",
                where,
                content,
                code=INVALID,
            )
        if has_name:
            _name(content["functionName"], child(where, "functionName"))
        else:
            reference_pointer = child(where, "functionReference")
            target = self._named_or_inline(
                content["functionReference"], reference_pointer
            )
            entry.edges.append((target, level, reference_pointer))
        arguments = _members(content, where, "arguments", dict)
        for argument, node in arguments.items():
            yield node, child(where, "arguments", argument)

    def _named_or_inline(self, value: object, where: str) -> str:
        if isinstance(value, dict):
            return self._inline_entry(value, where)
        return self._reference(value, where)

    def check_graph(self, result: str) -> int:
        """Check references from ``result``: no cycles, bounded depth, bound arguments.

        Returns:
            The depth of the deepest path from ``result``.
        """
        depths: dict[str, int] = {}
        free: dict[str, set[str]] = {}
        path: list[str] = []
        on_path: set[str] = set()
        stack: list[tuple[str, bool]] = [(result, False)]
        while stack:
            name, expanded = stack.pop()
            if expanded:
                on_path.discard(path.pop())
                depths[name], free[name] = self._measure(name, depths, free)
                continue
            if name in depths:
                continue
            if name in on_path:
                self._raise_cycle(path, name)
            path.append(name)
            on_path.add(name)
            stack.append((name, True))
            stack.extend((target, False) for target, _, _ in self._entries[name].edges)

        self._check_arguments_bound(result, free[result])
        if depths[result] > self._max_depth:
            raise invalid(
                f"The expression is {depths[result]} levels deep counting the chains "
                f"of references; at most {self._max_depth} are accepted. Flatten it "
                "or split the work into an asset.",
                self._entries[result].pointer,
                depths[result],
                code=TOO_DEEP,
                limit=self._max_depth,
            )
        return depths[result]

    def _measure(
        self, name: str, depths: dict[str, int], free: dict[str, set[str]]
    ) -> tuple[int, set[str]]:
        entry = self._entries[name]
        depth = entry.height
        for target, offset, _ in entry.edges:
            depth = max(depth, offset + depths[target])
        uses = set(entry.argument_uses)
        bodies = {body for _, body in entry.definitions}
        for target, _, _ in entry.edges:
            if target not in bodies:
                uses |= free[target]
        for argument_names, body in entry.definitions:
            uses |= free[body] - set(argument_names)
        return depth, uses

    def _raise_cycle(self, path: list[str], name: str) -> None:
        cycle = path[path.index(name) :] + [name]
        steps = " -> ".join(repr(step) for step in cycle if not step.startswith("\0"))
        raise invalid(
            f"The expression's values form a cycle ({steps}). An expression must be "
            "acyclic.",
            self._entries[name].pointer,
            steps,
            code=INVALID,
        )

    def _check_arguments_bound(self, result: str, unbound: set[str]) -> None:
        if unbound:
            first = sorted(unbound)[0]
            raise invalid(
                f"argumentReference {first!r} is used outside any "
                "functionDefinitionValue that declares it. Argument references are "
                "only valid inside a function body.",
                self._entries[result].pointer,
                first,
                code=INVALID,
            )


def _kind(node: object, where: str) -> str:
    if not isinstance(node, dict):
        raise invalid(
            f"{where} must be a value node object, got {type(node).__name__} "
            f"{excerpt(node)}.",
            where,
            node,
            code=INVALID,
        )
    kinds = [key for key in node if key in KINDS]
    unknown = sorted(key for key in node if key not in KINDS)
    if unknown:
        raise invalid(
            f"{where} has unknown member(s) {', '.join(unknown)}. A value node sets "
            f"exactly one of: {', '.join(KINDS)}.",
            child(where, unknown[0]),
            unknown,
            code=INVALID,
        )
    if len(kinds) != 1:
        found = ", ".join(kinds) if kinds else "none"
        raise invalid(
            f"{where} must set exactly one of: {', '.join(KINDS)}; it sets {found}.",
            where,
            node,
            code=INVALID,
        )
    kind: str = kinds[0]
    return kind


def _name(value: object, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise invalid(
            f"{where} must be a non-empty string, got {excerpt(value)}.",
            where,
            value,
            code=INVALID,
        )
    return value


def _members(content: object, where: str, member: str, kind: type) -> Any:
    if not isinstance(content, dict):
        raise invalid(
            f"{where} must be an object, got {excerpt(content)}.",
            where,
            content,
            code=INVALID,
        )
    if member == "values":
        _only_members(content, where, ("values",))
    value = content.get(member, kind())
    if not isinstance(value, kind):
        expected = "list" if kind is list else "object"
        raise invalid(
            f"{child(where, member)} must be a {expected}, got {excerpt(value)}.",
            child(where, member),
            value,
            code=INVALID,
        )
    return value


def _only_members(content: object, where: str, accepted: tuple[str, ...]) -> None:
    if not isinstance(content, dict):
        raise invalid(
            f"{where} must be an object, got {excerpt(content)}.",
            where,
            content,
            code=INVALID,
        )
    known_keys(content, accepted, where, code=INVALID)


def _constant_depth(value: object, where: str, level: int, max_depth: int) -> int:
    """Return how deeply a constant nests, checking its members on the way."""
    deepest = 0
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if level + depth > max_depth:
            raise invalid(
                f"The constant at {where} nests too deeply: with the levels above it "
                f"the expression would be more than {max_depth} levels deep.",
                where,
                value,
                code=TOO_DEEP,
                limit=max_depth,
            )
        if isinstance(item, list):
            stack.extend((member, depth + 1) for member in item)
        elif isinstance(item, dict):
            stack.extend((member, depth + 1) for member in item.values())
        elif isinstance(item, float) and not math.isfinite(item):
            raise invalid(
                f"The constant at {where} contains {item}; NaN and Infinity are not "
                "valid JSON numbers.",
                where,
                item,
                code=INVALID,
            )
        elif item is not None and not isinstance(item, (str, int, float, bool)):
            raise invalid(
                f"The constant at {where} contains a {type(item).__name__}, which is "
                "not a JSON value.",
                where,
                item,
                code=INVALID,
            )
    return deepest


def _check_integer(value: object, where: str) -> None:
    text = (
        str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    )
    if (
        not isinstance(text, str)
        or not _INT64.fullmatch(text)
        or not (-(2**63) <= int(text) < 2**63)
    ):
        raise invalid(
            f"{where} must be a 64-bit integer written as a string, got "
            f"{excerpt(value)}.",
            where,
            value,
            code=INVALID,
        )


def _check_bytes(value: object, where: str) -> None:
    try:
        if not isinstance(value, str):
            raise ValueError
        base64.b64decode(value.replace("-", "+").replace("_", "/"), validate=True)
    except (ValueError, binascii.Error):
        raise invalid(
            f"{where} must be a base64 string, got {excerpt(value)}.",
            where,
            value,
            code=INVALID,
        ) from None


class _Decoder:
    """Turns checked nodes into the value tree; each named value is decoded once."""

    def __init__(self, entries: dict[str, _Entry]) -> None:
        self._entries = entries
        self._decoded: dict[str, Value] = {}

    def decode_entry(self, name: str) -> Value:
        if name not in self._decoded:
            node = self._entries[name].node
            if "valueReference" in node:
                self._decoded[name] = Alias(self.decode_entry(node["valueReference"]))
            else:
                self._decoded[name] = self.decode(node)
        return self._decoded[name]

    def _reference(self, value: Any) -> Value:
        if isinstance(value, dict):
            return self.decode(value)
        return self.decode_entry(value)

    def decode(self, node: dict[str, Any]) -> Value:
        kind, content = next(iter(node.items()))
        if kind == "constantValue":
            return content
        if kind == "integerValue":
            return int(content)
        if kind == "bytesValue":
            return base64.b64decode(content.replace("-", "+").replace("_", "/"))
        if kind == "argumentReference":
            return ArgumentReference(content)
        if kind == "valueReference":
            return self.decode_entry(content)
        if kind == "arrayValue":
            return [self.decode(item) for item in content.get("values", [])]
        if kind == "dictionaryValue":
            values = content.get("values", {})
            return {key: self.decode(item) for key, item in values.items()}
        if kind == "functionDefinitionValue":
            return FunctionDefinition(
                tuple(content.get("argumentNames", [])),
                self._reference(content["body"]),
            )
        return self._invocation(content)

    def _invocation(self, content: dict[str, Any]) -> Invocation:
        arguments = {}
        for name, node in content.get("arguments", {}).items():
            decoded = self.decode(node)
            arguments[name] = NULL_ARGUMENT if decoded is None else decoded
        if "functionName" in content:
            return Invocation(content["functionName"], arguments)
        return Invocation(
            None, arguments, self._reference(content["functionReference"])
        )


# Algorithms whose output has the bands of one image argument.
_SAME_BANDS = {
    "Image.clip": "input",
    "Image.clipToBoundsAndScale": "input",
    "Image.reproject": "image",
    "Image.setDefaultProjection": "image",
    "Image.resample": "image",
    "Image.updateMask": "image",
    "Image.unmask": "input",
    "Image.toFloat": "value",
    "Image.toByte": "value",
    "Element.set": "object",
}
_PLAIN_BAND_NAME = re.compile(r"[A-Za-z0-9_ -]+")


def band_count(value: Value) -> int | None:
    """Return how many bands an image expression has, when its form makes it plain.

    Recognises ``Image.select`` and ``Image.rename`` with literal names,
    ``Image.normalizedDifference`` (one band), ``Image.visualize`` (three), and the
    algorithms that keep their input's bands. Returns ``None`` otherwise, because the
    bands of a loaded asset are only visible to Earth Engine.
    """
    for _ in range(MAX_SUPPORTED_DEPTH):
        while isinstance(value, Alias):
            value = value.target
        if not isinstance(value, Invocation) or value.function_name is None:
            return None
        name, arguments = value.function_name, value.arguments
        if name in _SAME_BANDS:
            value = arguments.get(_SAME_BANDS[name])
            continue
        if name == "Image.select":
            return _literal_band_names(arguments.get("bandSelectors"))
        if name == "Image.rename":
            return _literal_band_names(arguments.get("names"))
        if name == "Image.normalizedDifference":
            return 1
        if name == "Image.visualize":
            return 3
        return None
    return None


def _literal_band_names(value: Value) -> int | None:
    # A selector is a regular expression; only plain names select exactly one band.
    while isinstance(value, Alias):
        value = value.target
    if not isinstance(value, list) or not value:
        return None
    if all(_selects_one_band(name) for name in value):
        return len(value)
    return None


def _selects_one_band(selector: Value) -> bool:
    if isinstance(selector, bool):
        return False
    if isinstance(selector, int):
        return True
    return isinstance(selector, str) and bool(_PLAIN_BAND_NAME.fullmatch(selector))
