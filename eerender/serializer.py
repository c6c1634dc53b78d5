"""Encode a value tree as an Expression the way the official Python client does.

The client (``ee/serializer.py`` in earthengine-api 1.7.50) builds the graph in two
steps, and this module follows both so that a request gives the same
``thumbnails.create`` body as ``ee.Image.getThumbURL``, node names and sharing included:

1. Every value is encoded bottom-up into a scope of named nodes whose children are all
   ``valueReference``s. A node whose JSON equals an earlier node's reuses that name, so
   equal subtrees are shared however they were built.
2. The scope is compacted from the result. A value used once is inlined where it is
   used, while the inlining depth (counted in steps of three JSON levels) stays below
   50. Numbers, booleans, nulls and argument references are always inlined. Arrays and
   dictionaries of constants collapse into one constant. The values that stay named
   are renamed in visiting order, so the result is always ``"0"``.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from eerender.expression import (
    NULL_ARGUMENT,
    Alias,
    ArgumentReference,
    FunctionDefinition,
    Invocation,
    Value,
)

# The client stops inlining at this depth because Earth Engine rejects expressions
# nested deeper than 100 JSON levels.
_INLINE_DEPTH_LIMIT = 50

Node = dict[str, Any]


def encode_expression(root: Value) -> dict[str, Any]:
    """Return the Expression ``{"result", "values"}`` for the value tree ``root``."""
    scope = _Scope()
    result = scope.encode(root)
    return _Compactor(result, scope.nodes).compact()


def canonical_json(value: Any) -> str:
    """Return ``value`` as compact JSON with sorted keys, for hashing.

    Whole floats are written as integers, so ``1`` and ``1.0`` hash alike, as Earth
    Engine stores both as the same double.
    """
    return json.dumps(
        _canonical_numbers(value),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )


def _canonical_numbers(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_canonical_numbers(item) for item in value]
    if isinstance(value, dict):
        return {key: _canonical_numbers(item) for key, item in value.items()}
    return value


def encode_number(number: int | float) -> Node:
    """Encode a number as the client does: ints a double cannot hold become strings."""
    if isinstance(number, int) and float(number) != number:
        return {"integerValue": str(number)}
    return {"constantValue": number}


class _Scope:
    """Step 1: named nodes, one per distinct subtree.

    NOTE: every list inside a constant is hashed as its own subtree, as the client
    does, so a 10 MiB body of 300,000 coordinate pairs takes about 10 s of one core
    to encode (measured with ad hoc timing on the 2-core development machine).
    """

    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}
        self._names_by_json: dict[str, str] = {}
        # Shared Python objects are encoded once, which keeps a DAG linear to encode.
        self._names_by_id: dict[int, str] = {}

    def encode(self, value: Value) -> str:
        """Encode ``value`` and return the name of its node."""
        known = self._names_by_id.get(id(value))
        if known is not None:
            return known
        node = self._node(value)
        key = json.dumps(node)
        name = self._names_by_json.get(key)
        if name is None:
            name = str(len(self.nodes))
            self.nodes[name] = node
            self._names_by_json[key] = name
        self._names_by_id[id(value)] = name
        return name

    def _reference(self, value: Value) -> Node:
        # Numbers, booleans and nulls are always inlined by the compaction step, and an
        # array or dictionary of nothing else always collapses into one constant. So
        # writing them in place at once gives the same output without a named node
        # each, which keeps a request with a large constant list fast to encode.
        if value is None or isinstance(value, bool):
            return {"constantValue": value}
        if isinstance(value, (int, float)):
            node = encode_number(value)
            if "constantValue" in node:
                return node
        return {"valueReference": self.encode(value)}

    def _node(self, value: Value) -> Node:
        if value is None or value is NULL_ARGUMENT:
            return {"constantValue": None}
        if isinstance(value, (bool, str)):
            return {"constantValue": value}
        if isinstance(value, (int, float)):
            return encode_number(value)
        if isinstance(value, bytes):
            return {"bytesValue": base64.b64encode(value).decode()}
        if isinstance(value, list):
            items = [self._reference(item) for item in value]
            if all(_is_inline_constant(item) for item in items):
                return {"constantValue": [item["constantValue"] for item in items]}
            return {"arrayValue": {"values": items}}
        if isinstance(value, dict):
            members = {key: self._reference(value[key]) for key in sorted(value)}
            if all(_is_inline_constant(member) for member in members.values()):
                constants = {
                    key: item["constantValue"] for key, item in members.items()
                }
                return {"constantValue": constants}
            return {"dictionaryValue": {"values": members}}
        if isinstance(value, Invocation):
            return {"functionInvocationValue": self._invocation(value)}
        if isinstance(value, FunctionDefinition):
            definition = {
                "argumentNames": list(value.argument_names),
                "body": self.encode(value.body),
            }
            return {"functionDefinitionValue": definition}
        if isinstance(value, ArgumentReference):
            return {"argumentReference": value.name}
        if isinstance(value, Alias):
            return self._reference(value.target)
        raise TypeError(f"cannot encode {type(value).__name__} in an expression")

    def _invocation(self, value: Invocation) -> Node:
        invocation: Node
        if value.function_name is not None:
            invocation = {"functionName": value.function_name}
        else:
            invocation = {"functionReference": self.encode(value.function)}
        invocation["arguments"] = {
            name: self._reference(value.arguments[name])
            for name in sorted(value.arguments)
            if value.arguments[name] is not None
        }
        return invocation


class _Compactor:
    """Step 2: inline what is used once or is trivial, then rename from the result."""

    def __init__(self, result: str, nodes: dict[str, Node]) -> None:
        self._result = result
        self._nodes = nodes
        self._single_uses = self._find_single_uses()
        self._new_names: dict[str, str] = {}
        self._compacted: dict[str, Node] = {}

    def compact(self) -> dict[str, Any]:
        result = self._compact_named(self._result)
        return {"result": result, "values": self._compacted}

    def _find_single_uses(self) -> set[str]:
        # Each named node is scanned once, however many places refer to it, so a count
        # is the number of places in the graph that name the node.
        counts: dict[str, int] = {self._result: 1}
        visited = {self._result}
        stack: list[Node] = [self._nodes[self._result]]
        while stack:
            node = stack.pop()
            for name in _named_references(node):
                counts[name] = counts.get(name, 0) + 1
                if name not in visited:
                    visited.add(name)
                    stack.append(self._nodes[name])
            stack.extend(_inline_children(node))
        return {name for name, count in counts.items() if count == 1}

    def _compact_named(self, name: str) -> str:
        if name not in self._new_names:
            new_name = str(len(self._new_names))
            self._new_names[name] = new_name
            self._compacted[new_name] = self._compact(self._nodes[name], 0)
        return self._new_names[name]

    def _compact(self, node: Node, depth: int) -> Node:
        if "arrayValue" in node:
            items = [
                self._compact(item, depth + 3) for item in node["arrayValue"]["values"]
            ]
            if all("constantValue" in item for item in items):
                return {"constantValue": [item["constantValue"] for item in items]}
            return {"arrayValue": {"values": items}}
        if "dictionaryValue" in node:
            members = {
                key: self._compact(item, depth + 3)
                for key, item in node["dictionaryValue"]["values"].items()
            }
            if all("constantValue" in item for item in members.values()):
                constants = {
                    key: item["constantValue"] for key, item in members.items()
                }
                return {"constantValue": constants}
            return {"dictionaryValue": {"values": members}}
        if "functionDefinitionValue" in node:
            definition = node["functionDefinitionValue"]
            body = self._compact_named(definition["body"])
            compacted = {"argumentNames": definition["argumentNames"], "body": body}
            return {"functionDefinitionValue": compacted}
        if "functionInvocationValue" in node:
            return {"functionInvocationValue": self._invocation(node, depth)}
        if "valueReference" in node:
            return self._lift(node["valueReference"], depth)
        return node

    def _invocation(self, node: Node, depth: int) -> Node:
        invocation = node["functionInvocationValue"]
        compacted: Node = {}
        if "functionName" in invocation:
            compacted["functionName"] = invocation["functionName"]
        else:
            compacted["functionReference"] = self._compact_named(
                invocation["functionReference"]
            )
        compacted["arguments"] = {
            name: self._compact(argument, depth + 3)
            for name, argument in invocation["arguments"].items()
        }
        return compacted

    def _lift(self, name: str, depth: int) -> Node:
        target = self._nodes[name]
        if name in self._single_uses and depth < _INLINE_DEPTH_LIMIT:
            return self._compact(target, depth)
        if _always_liftable(target):
            return target
        return {"valueReference": self._compact_named(name)}


def _is_inline_constant(node: Node) -> bool:
    return "constantValue" in node


def _always_liftable(node: Node) -> bool:
    # Strings stay named when shared: a long asset id used twice is sent once.
    if "constantValue" in node:
        constant = node["constantValue"]
        return constant is None or isinstance(constant, (bool, int, float))
    return "argumentReference" in node


def _named_references(node: Node) -> list[str]:
    if "valueReference" in node:
        return [node["valueReference"]]
    if "functionDefinitionValue" in node:
        return [node["functionDefinitionValue"]["body"]]
    invocation = node.get("functionInvocationValue", {})
    if "functionReference" in invocation:
        return [invocation["functionReference"]]
    return []


def _inline_children(node: Node) -> list[Node]:
    if "arrayValue" in node:
        return list(node["arrayValue"]["values"])
    if "dictionaryValue" in node:
        return list(node["dictionaryValue"]["values"].values())
    if "functionInvocationValue" in node:
        return list(node["functionInvocationValue"]["arguments"].values())
    return []
