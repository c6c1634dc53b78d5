"""Expression checks, decoding and re-encoding, without the official client."""

from __future__ import annotations

import copy
import json
import pathlib
from typing import Any

import pytest

from eerender.errors import InvalidRequest
from eerender.expression import (
    Alias,
    Invocation,
    band_count,
    parse_expression,
)
from eerender.serializer import canonical_json, encode_expression

EXPRESSIONS = json.loads(
    (pathlib.Path(__file__).parents[1] / "data" / "expressions.json").read_text()
)


def parse(raw: object, max_nodes: int = 5000, max_depth: int = 100) -> Any:
    return parse_expression(
        raw, "/expression", max_nodes=max_nodes, max_depth=max_depth
    )


def load(asset: str) -> dict[str, Any]:
    return {
        "functionInvocationValue": {
            "functionName": "Image.load",
            "arguments": {"id": {"constantValue": asset}},
        }
    }


def call(name: str, **arguments: Any) -> dict[str, Any]:
    return {"functionInvocationValue": {"functionName": name, "arguments": arguments}}


def rejection(raw: object, **limits: int) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        parse(raw, **limits)
    return caught.value


REJECTED: list[tuple[str, object, str, str, str]] = [
    # (case, expression, code, field, text the message must contain)
    (
        "unresolved_reference",
        {
            "result": "0",
            "values": {"0": call("Image.clip", input={"valueReference": "9"})},
        },
        "INVALID_EXPRESSION",
        "/expression/values/0/functionInvocationValue/arguments/input/valueReference",
        "'9'",
    ),
    (
        "missing_body",
        {
            "result": "0",
            "values": {
                "0": call(
                    "Collection.map",
                    baseAlgorithm={
                        "functionDefinitionValue": {"argumentNames": ["x"], "body": "7"}
                    },
                )
            },
        },
        "INVALID_EXPRESSION",
        "/expression/values/0/functionInvocationValue/arguments/baseAlgorithm"
        "/functionDefinitionValue/body",
        "'7'",
    ),
    (
        "missing_function_reference",
        {
            "result": "0",
            "values": {
                "0": {
                    "functionInvocationValue": {
                        "functionReference": "5",
                        "arguments": {},
                    }
                }
            },
        },
        "INVALID_EXPRESSION",
        "/expression/values/0/functionInvocationValue/functionReference",
        "'5'",
    ),
    (
        "missing_result",
        {"values": {"0": load("A")}},
        "INVALID_EXPRESSION",
        "/expression/result",
        "None",
    ),
    (
        "unknown_result",
        {"result": "x", "values": {"0": load("A")}},
        "INVALID_EXPRESSION",
        "/expression/result",
        "'x'",
    ),
    (
        "empty_values",
        {"result": "0", "values": {}},
        "INVALID_EXPRESSION",
        "/expression/values",
        "{}",
    ),
    (
        "cycle",
        {
            "result": "0",
            "values": {
                "0": call("Image.abs", value={"valueReference": "1"}),
                "1": call("Image.abs", value={"valueReference": "0"}),
            },
        },
        "INVALID_EXPRESSION",
        "/expression/values/0",
        "'0' -> '1' -> '0'",
    ),
    (
        "self_reference",
        {"result": "0", "values": {"0": {"valueReference": "0"}}},
        "INVALID_EXPRESSION",
        "/expression/values/0",
        "'0' -> '0'",
    ),
    (
        "no_kind",
        {"result": "0", "values": {"0": {}}},
        "INVALID_EXPRESSION",
        "/expression/values/0",
        "sets none",
    ),
    (
        "two_kinds",
        {"result": "0", "values": {"0": {"constantValue": 1, "valueReference": "0"}}},
        "INVALID_EXPRESSION",
        "/expression/values/0",
        "constantValue, valueReference",
    ),
    (
        "misspelt_kind",
        {"result": "0", "values": {"0": {"constantValu": 1}}},
        "INVALID_EXPRESSION",
        "/expression/values/0/constantValu",
        "constantValu",
    ),
    (
        "node_not_object",
        {"result": "0", "values": {"0": call("Image.abs", value=[1, 2])}},
        "INVALID_EXPRESSION",
        "/expression/values/0/functionInvocationValue/arguments/value",
        "[1, 2]",
    ),
    (
        "argument_outside_function",
        {
            "result": "0",
            "values": {"0": call("Image.abs", value={"argumentReference": "x"})},
        },
        "INVALID_EXPRESSION",
        "/expression/values/0",
        "'x'",
    ),
    (
        "argument_of_other_function",
        {
            "result": "0",
            "values": {
                "1": call("Image.abs", value={"argumentReference": "y"}),
                "0": call(
                    "Collection.map",
                    baseAlgorithm={
                        "functionDefinitionValue": {"argumentNames": ["x"], "body": "1"}
                    },
                ),
            },
        },
        "INVALID_EXPRESSION",
        "/expression/values/0",
        "'y'",
    ),
    (
        "name_and_reference",
        {
            "result": "0",
            "values": {
                "1": load("A"),
                "0": {
                    "functionInvocationValue": {
                        "functionName": "Image.abs",
                        "functionReference": "1",
                        "arguments": {},
                    }
                },
            },
        },
        "INVALID_EXPRESSION",
        "/expression/values/0/functionInvocationValue",
        "exactly one of functionName and functionReference",
    ),
    (
        "repeated_argument_names",
        {
            "result": "0",
            "values": {
                "1": load("A"),
                "0": {
                    "functionDefinitionValue": {
                        "argumentNames": ["x", "x"],
                        "body": "1",
                    }
                },
            },
        },
        "INVALID_EXPRESSION",
        "/expression/values/0/functionDefinitionValue/argumentNames",
        "['x', 'x']",
    ),
    (
        "nan_constant",
        {
            "result": "0",
            "values": {
                "0": call("Image.constant", value={"constantValue": [1, float("nan")]})
            },
        },
        "INVALID_EXPRESSION",
        "/expression/values/0/functionInvocationValue/arguments/value/constantValue",
        "nan",
    ),
    (
        "integer_not_string",
        {"result": "0", "values": {"0": {"integerValue": "12.5"}}},
        "INVALID_EXPRESSION",
        "/expression/values/0/integerValue",
        "12.5",
    ),
    (
        "bytes_not_base64",
        {"result": "0", "values": {"0": {"bytesValue": "not base64!"}}},
        "INVALID_EXPRESSION",
        "/expression/values/0/bytesValue",
        "not base64!",
    ),
    (
        "legacy_encoding",
        {"type": "CompoundValue", "scope": [], "value": {}},
        "INVALID_EXPRESSION",
        "/expression/type",
        "for_cloud_api=True",
    ),
    ("not_object", [1, 2, 3], "INVALID_EXPRESSION", "/expression", "[1, 2, 3]"),
    (
        "bad_json_string",
        '{"result": ',
        "INVALID_EXPRESSION",
        "/expression",
        "not valid JSON",
    ),
    (
        "unknown_member",
        {"result": "0", "values": {"0": load("A")}, "vaules": {}},
        "INVALID_EXPRESSION",
        "/expression/vaules",
        "vaules",
    ),
]


@pytest.mark.parametrize(
    ("raw", "code", "field", "named"),
    [case[1:] for case in REJECTED],
    ids=[case[0] for case in REJECTED],
)
def test_expression_rejected(raw: object, code: str, field: str, named: str) -> None:
    error = rejection(raw)

    assert error.code == code
    assert error.field == field
    assert named in error.message


def test_unreachable_values_still_checked() -> None:
    raw = {"result": "0", "values": {"0": load("A"), "1": {"valueReference": "2"}}}

    error = rejection(raw)

    assert error.field == "/expression/values/1/valueReference"


def test_node_limit_reported() -> None:
    node: dict[str, Any] = load("A")
    for _ in range(10):
        node = call("Image.abs", value=node)

    error = rejection({"result": "0", "values": {"0": node}}, max_nodes=5)

    assert error.code == "EXPRESSION_TOO_LARGE"
    assert error.limit == 5
    assert "more than 5 value nodes" in error.message


def test_inline_depth_limit_reported() -> None:
    node: dict[str, Any] = load("A")
    for _ in range(20):
        node = call("Image.abs", value=node)

    error = rejection({"result": "0", "values": {"0": node}}, max_depth=10)

    assert error.code == "EXPRESSION_TOO_DEEP"
    assert error.limit == 10


def test_reference_chain_depth_counted() -> None:
    values: dict[str, Any] = {"20": load("A")}
    for index in range(20):
        values[str(index)] = call("Image.abs", value={"valueReference": str(index + 1)})

    error = rejection({"result": "0", "values": values}, max_depth=10)

    assert error.code == "EXPRESSION_TOO_DEEP"
    assert error.field == "/expression/values/0"
    assert "chains of references" in error.message
    assert parse({"result": "0", "values": values}, max_depth=30).depth == 22


def test_shared_values_counted_once() -> None:
    values: dict[str, Any] = {"30": load("A")}
    for index in range(30):
        child = {"valueReference": str(index + 1)}
        values[str(index)] = call("Image.add", image1=child, image2=child)

    checked = parse({"result": "0", "values": values}, max_depth=40)

    assert checked.node_count == 1 + 30 * 3 + 1
    assert checked.depth == 32


def test_hostile_nested_constant_rejected_without_recursion() -> None:
    constant: list[Any] = []
    for _ in range(200_000):
        constant = [constant]
    raw = {
        "result": "0",
        "values": {"0": call("Image.constant", value={"constantValue": constant})},
    }

    error = rejection(raw)

    assert error.code == "EXPRESSION_TOO_DEEP"
    assert len(str(error.value)) <= 203


def test_hostile_nested_nodes_rejected_without_recursion() -> None:
    node: dict[str, Any] = {"constantValue": 1}
    for _ in range(200_000):
        node = {"arrayValue": {"values": [node]}}

    error = rejection({"result": "0", "values": {"0": node}}, max_nodes=10**6)

    assert error.code == "EXPRESSION_TOO_DEEP"


def test_hostile_nested_json_string_rejected() -> None:
    raw = "[" * 5_000_000 + "]" * 5_000_000

    error = rejection(raw)

    assert error.code == "EXPRESSION_TOO_DEEP"
    assert error.field == "/expression"


def test_deep_input_cannot_exceed_supported_depth() -> None:
    node: dict[str, Any] = load("A")
    for _ in range(400):
        node = call("Image.abs", value=node)

    error = rejection({"result": "0", "values": {"0": node}}, max_depth=10_000)

    assert error.code == "EXPRESSION_TOO_DEEP"
    assert error.limit == 250


def test_function_arguments_bound_in_body() -> None:
    checked = parse(EXPRESSIONS["mapped"])

    assert checked.node_count == 9
    assert encode_expression(checked.root) == EXPRESSIONS["mapped"]


def test_json_string_accepted() -> None:
    checked = parse(json.dumps(EXPRESSIONS["landsat_rgb"]))

    assert encode_expression(checked.root) == encode_expression(
        parse(EXPRESSIONS["landsat_rgb"]).root
    )


def test_quasi_expression_accepted() -> None:
    quasi = call(
        "Image.select", input=load("A"), bandSelectors={"constantValue": ["B1"]}
    )

    checked = parse(quasi)

    assert encode_expression(checked.root) == {"result": "0", "values": {"0": quasi}}


def test_quasi_expression_with_inline_body() -> None:
    body = call("Image.abs", value={"argumentReference": "x"})
    quasi = call(
        "Collection.map",
        baseAlgorithm={
            "functionDefinitionValue": {"argumentNames": ["x"], "body": body}
        },
        collection=call("ImageCollection.load", id={"constantValue": "C"}),
    )

    encoded = encode_expression(parse(quasi).root)

    definition = encoded["values"]["0"]["functionInvocationValue"]["arguments"][
        "baseAlgorithm"
    ]["functionDefinitionValue"]
    assert encoded["values"][definition["body"]] == body


def test_reencoding_renames_and_shares() -> None:
    raw = {
        "result": "top",
        "values": {
            "asset": {"constantValue": "A"},
            "image": call("Image.load", id={"valueReference": "asset"}),
            "top": call(
                "Image.add",
                image1={"valueReference": "image"},
                image2=call("Image.load", id={"constantValue": "A"}),
            ),
        },
    }

    encoded = encode_expression(parse(raw).root)

    assert encoded == {
        "result": "0",
        "values": {
            "1": load("A"),
            "0": call(
                "Image.add",
                image1={"valueReference": "1"},
                image2={"valueReference": "1"},
            ),
        },
    }


def test_reencoding_keeps_explicit_null_argument() -> None:
    raw = {
        "result": "0",
        "values": {
            "0": call("Image.unmask", input=load("A"), value={"constantValue": None})
        },
    }

    encoded = encode_expression(parse(raw).root)

    assert encoded == raw


def test_alias_value_decoded() -> None:
    raw = {
        "result": "0",
        "values": {
            "2": {"constantValue": ["B1", "B2"]},
            "1": {"valueReference": "2"},
            "0": call(
                "Image.select",
                input=load("A"),
                bandSelectors={"valueReference": "1"},
                newNames={"valueReference": "1"},
            ),
        },
    }

    root = parse(raw).root

    assert isinstance(root, Invocation)
    assert isinstance(root.arguments["bandSelectors"], Alias)
    assert band_count(root) == 2


def test_integer_and_bytes_values_kept() -> None:
    raw = {
        "result": "0",
        "values": {
            "0": call(
                "Element.set",
                object=load("A"),
                key={"constantValue": "k"},
                value={
                    "arrayValue": {
                        "values": [
                            {"integerValue": "112233445566778899"},
                            {"bytesValue": "aGVsbG8="},
                        ]
                    }
                },
            )
        },
    }

    assert encode_expression(parse(raw).root) == raw


def test_canonical_json_ignores_order_and_whole_floats() -> None:
    first = {"b": [1.0, 2.5], "a": {"y": 0, "x": True}}
    second = {"a": {"x": True, "y": 0.0}, "b": [1, 2.5]}

    assert canonical_json(first) == canonical_json(second)
    assert canonical_json(first) == '{"a":{"x":true,"y":0},"b":[1,2.5]}'


BAND_COUNTS: list[tuple[str, dict[str, Any], int | None]] = [
    ("load", load("A"), None),
    (
        "select_names",
        call(
            "Image.select",
            input=load("A"),
            bandSelectors={"constantValue": ["B4", "B3", "B2"]},
        ),
        3,
    ),
    (
        "select_index",
        call("Image.select", input=load("A"), bandSelectors={"constantValue": [0]}),
        1,
    ),
    (
        "select_regex",
        call("Image.select", input=load("A"), bandSelectors={"constantValue": ["B.*"]}),
        None,
    ),
    ("normalized_difference", call("Image.normalizedDifference", input=load("A")), 1),
    ("visualize", call("Image.visualize", image=load("A")), 3),
    (
        "clip_keeps_bands",
        call(
            "Image.clip",
            input=call(
                "Image.rename", input=load("A"), names={"constantValue": ["a", "b"]}
            ),
        ),
        2,
    ),
]


@pytest.mark.parametrize(
    ("node", "expected"),
    [case[1:] for case in BAND_COUNTS],
    ids=[case[0] for case in BAND_COUNTS],
)
def test_band_count_from_expression(node: dict[str, Any], expected: int | None) -> None:
    root = parse({"result": "0", "values": {"0": node}}).root

    assert band_count(root) == expected


def test_parse_leaves_input_unchanged() -> None:
    raw = copy.deepcopy(EXPRESSIONS["landsat_rgb"])

    parse(raw)

    assert raw == EXPRESSIONS["landsat_rgb"]
