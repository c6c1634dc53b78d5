"""Properties of the request model, the expression checks and the policy (hypothesis).

Whatever a caller sends, parsing returns a request or raises InvalidRequest or
Forbidden with a JSON pointer; it never raises anything else. Hashes do not depend on
key order or value names.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import string
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from eerender import auth
from eerender.config import Settings
from eerender.errors import Forbidden, InvalidRequest
from eerender.expression import KINDS, parse_expression
from eerender.policy import check_expression
from eerender.query import request_from_query
from eerender.request import ACCEPTED_FIELDS, RenderRequest, parse_render_request

SETTINGS = Settings(
    ee_project="p",
    render_bucket="renders",
    allowed_buckets=frozenset({"renders", "shared"}),
)
RESTRICTED = dataclasses.replace(
    SETTINGS,
    allowed_asset_prefixes=frozenset({"USGS", "COPERNICUS/S2*"}),
    allowed_source_buckets=frozenset({"uploads"}),
    allowed_algorithms=frozenset({"Image.*", "Terrain.slope"}),
)
# Derandomized, so every run of the suite tries the same cases; PROPERTY_EXAMPLES
# raises the count for a longer search.
EXAMPLES = settings(
    max_examples=int(os.environ.get("PROPERTY_EXAMPLES", "300")),
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

# Text that exercises the checks: pointers, separators, look-alikes, controls.
TRICKY = st.sampled_from(
    [
        "",
        " ",
        "/",
        "..",
        "~1",
        "x",
        "0",
        "USGS/SRTMGL1_003",
        "projects/earthengine-public/assets/USGS/SRTMGL1_003",
        "gs://uploads/a.tif",
        "gs://private/a.tif",
        "\u202e",
        "\u200b",
        "\x00",
        "\uff0e\uff0e",
        "\ud800",
        "NaN",
        "1e999",
        "512x256",
        "EPSG:4326",
        "Image.load",
        "elevation",
        "ff0000",
    ]
)
TEXT = st.one_of(TRICKY, st.text(max_size=20))
NUMBERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, TEXT)
JSON = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(TEXT, children, max_size=4),
    ),
    max_leaves=20,
)


def _value_nodes(names: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Value nodes that are mostly well formed, referring to ``names``."""
    references = st.sampled_from(names) if names else TEXT
    leaves = st.one_of(
        st.builds(lambda value: {"constantValue": value}, JSON),
        st.builds(lambda value: {"integerValue": value}, st.one_of(TEXT, NUMBERS)),
        st.builds(lambda name: {"valueReference": name}, references),
        st.builds(lambda name: {"argumentReference": name}, TEXT),
        st.builds(lambda value: {"bytesValue": value}, TEXT),
        JSON,
    )
    algorithms = st.one_of(
        st.sampled_from(
            [
                "Image.load",
                "ImageCollection.load",
                "Image.loadGeoTIFF",
                "Image.add",
                "Image.select",
                "Terrain.slope",
                "FeatureCollection.runBigQuery",
                "Collection.loadTable",
                "Blob",
            ]
        ),
        TEXT,
    )
    arguments = st.sampled_from(["id", "uri", "url", "tableId", "image1", "input"])

    def nested(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return st.one_of(
            st.builds(
                lambda name, args: {
                    "functionInvocationValue": {"functionName": name, "arguments": args}
                },
                algorithms,
                st.dictionaries(arguments, children, max_size=3),
            ),
            st.builds(
                lambda items: {"arrayValue": {"values": items}},
                st.lists(children, max_size=3),
            ),
            st.builds(
                lambda items: {"dictionaryValue": {"values": items}},
                st.dictionaries(TEXT, children, max_size=3),
            ),
            st.builds(
                lambda argument_names, body: {
                    "functionDefinitionValue": {
                        "argumentNames": argument_names,
                        "body": body,
                    }
                },
                st.lists(TEXT, max_size=2),
                st.one_of(references, children),
            ),
            st.builds(
                lambda kinds, value: dict.fromkeys(kinds, value),
                st.lists(st.sampled_from(KINDS), min_size=2, max_size=3),
                children,
            ),
        )

    return st.recursive(leaves, nested, max_leaves=8)


NAMES = ["0", "1", "2", "a", "~"]
VALUE_NODES = _value_nodes(NAMES)


@st.composite
def expressions(draw: st.DrawFn) -> Any:
    values = draw(st.dictionaries(st.sampled_from(NAMES), VALUE_NODES, max_size=4))
    shape = draw(st.sampled_from(["graph", "node", "string", "other"]))
    if shape == "graph":
        result = draw(st.one_of(st.sampled_from(NAMES), TEXT))
        return {"result": result, "values": values}
    if shape == "node":
        return draw(VALUE_NODES)
    if shape == "string":
        return json.dumps({"result": "0", "values": values})
    return draw(JSON)


EXPRESSIONS = expressions()
FIELD_VALUES = st.one_of(
    JSON,
    st.sampled_from(
        [
            [0, 0, 1, 1],
            [-122.5, 37.6, -122.3, 37.8],
            64,
            "64x32",
            [64, 32],
            "png",
            "GEO_TIFF",
            "store",
            "redirect",
            {"bucket": "renders", "object": "a.png"},
            {"bucket": "other", "object": "a.png"},
            {"object": "a/\u202e.png"},
            ["000000", "ffffff"],
            "elevation",
        ]
    ),
)


@st.composite
def render_requests(draw: st.DrawFn) -> dict[str, Any]:
    fields = draw(
        st.dictionaries(
            st.one_of(st.sampled_from(ACCEPTED_FIELDS), TEXT), FIELD_VALUES, max_size=6
        )
    )
    if draw(st.booleans()):
        fields["expression"] = draw(EXPRESSIONS)
    return fields


def assert_rejection_is_pointed(error: InvalidRequest | Forbidden) -> None:
    assert isinstance(error.field, str), error.message
    assert error.field == "" or error.field.startswith("/"), error.field
    assert error.code
    assert error.message


def parse_or_reject(data: Any, settings: Settings) -> RenderRequest | None:
    try:
        return parse_render_request(data, settings)
    except (InvalidRequest, Forbidden) as error:
        assert_rejection_is_pointed(error)
        return None


@EXAMPLES
@given(data=JSON)
def test_any_json_is_parsed_or_rejected(data: Any) -> None:
    parse_or_reject(data, SETTINGS)


@EXAMPLES
@given(data=render_requests())
def test_any_request_is_parsed_or_rejected(data: dict[str, Any]) -> None:
    parse_or_reject(data, SETTINGS)


@EXAMPLES
@given(data=render_requests())
def test_any_request_under_policy(data: dict[str, Any]) -> None:
    parse_or_reject(data, RESTRICTED)


@EXAMPLES
@given(raw=EXPRESSIONS)
def test_expression_checked_or_rejected(raw: Any) -> None:
    try:
        parse_expression(raw, "/expression", max_nodes=200, max_depth=20)
    except InvalidRequest as error:
        assert_rejection_is_pointed(error)
        assert error.field.startswith("/expression")
        return

    try:
        check_expression(raw, "/expression", RESTRICTED)
    except Forbidden as error:
        assert_rejection_is_pointed(error)
        assert error.field.startswith("/expression/")


@EXAMPLES
@given(
    query=st.dictionaries(
        st.one_of(st.sampled_from([*ACCEPTED_FIELDS, "request"]), TEXT),
        st.lists(TEXT, min_size=1, max_size=2),
        max_size=5,
    )
)
def test_any_query_is_read_or_rejected(query: dict[str, list[str]]) -> None:
    try:
        data = request_from_query(query)
    except InvalidRequest as error:
        assert_rejection_is_pointed(error)
        return
    parse_or_reject(data, SETTINGS)


def shuffled(value: Any, rng: random.Random) -> Any:
    """Return ``value`` with every object's keys in a random order."""
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {key: shuffled(item, rng) for key, item in items}
    if isinstance(value, list):
        return [shuffled(item, rng) for item in value]
    return value


def renamed(expression: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """Return ``expression`` with its named values given new names."""
    names = list(expression["values"])
    fresh = [f"v{''.join(rng.choices(string.ascii_lowercase, k=6))}" for _ in names]
    mapping = dict(zip(names, fresh, strict=True))
    text = json.dumps(expression)
    for old, new in mapping.items():
        text = text.replace(json.dumps(old), json.dumps(new))
    return json.loads(text)


SRTM_GRAPH = {
    "result": "0",
    "values": {
        "0": {
            "functionInvocationValue": {
                "functionName": "Image.select",
                "arguments": {
                    "input": {"valueReference": "1"},
                    "bandSelectors": {"constantValue": ["elevation"]},
                },
            }
        },
        "1": {
            "functionInvocationValue": {
                "functionName": "Image.load",
                "arguments": {"id": {"constantValue": "USGS/SRTMGL1_003"}},
            }
        },
    },
}
VALID_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "region": st.sampled_from([[0, 0, 1, 1], [-122.5, 37.6, -122.3, 37.8]]),
        "dimensions": st.sampled_from([64, "64x32", [32, 48]]),
        "min": st.integers(min_value=0, max_value=100),
        "max": st.integers(min_value=200, max_value=9000),
        "palette": st.sampled_from([["000000", "ffffff"], "red,green,blue"]),
        "format": st.sampled_from(["png", "jpg"]),
        "delivery": st.just("store"),
    },
)


@EXAMPLES
@given(fields=VALID_FIELDS, seed=st.integers())
def test_hash_stable_under_key_order_and_names(
    fields: dict[str, Any], seed: int
) -> None:
    rng = random.Random(seed)
    original = parse_or_reject({"expression": SRTM_GRAPH, **fields}, SETTINGS)
    assume(original is not None)
    assert original is not None
    reordered_fields = shuffled({"expression": renamed(SRTM_GRAPH, rng), **fields}, rng)

    reordered = parse_render_request(reordered_fields, SETTINGS)

    assert reordered.request_hash() == original.request_hash()
    assert reordered.expression_hash() == original.expression_hash()


@EXAMPLES
@given(fields=VALID_FIELDS, other=st.integers(min_value=9001, max_value=10**6))
def test_hash_changes_with_pixels(fields: dict[str, Any], other: int) -> None:
    first = parse_render_request(
        {"expression": SRTM_GRAPH, **fields, "min": 0, "max": 9000}, SETTINGS
    )
    second = parse_render_request(
        {"expression": SRTM_GRAPH, **fields, "min": 0, "max": other}, SETTINGS
    )

    assert first.request_hash() != second.request_hash()


@EXAMPLES
@given(
    query=st.dictionaries(TEXT, st.lists(TEXT, min_size=1, max_size=2), max_size=5),
    seed=st.integers(),
)
def test_link_message_ignores_parameter_order(
    query: dict[str, list[str]], seed: int
) -> None:
    items = list(query.items())
    random.Random(seed).shuffle(items)

    assert auth.link_message(dict(items)) == auth.link_message(query)


@EXAMPLES
@given(
    query=st.dictionaries(TEXT, st.lists(TEXT, min_size=1, max_size=2), min_size=1),
    extra=TEXT,
)
def test_link_message_changes_with_any_value(
    query: dict[str, list[str]], extra: str
) -> None:
    name = sorted(query)[0]
    changed = {**query, name: [*query[name][:-1], query[name][-1] + extra + "!"]}

    assert auth.link_message(changed) != auth.link_message(query)
