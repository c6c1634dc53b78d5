"""docs/openapi.yaml is a valid OpenAPI 3.1 document in step with the code."""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import re
import subprocess
import sys
from typing import Any

import jsonschema
import pytest
import yaml
from openapi_spec_validator import validate

from eerender import auth
from eerender.batch import DESCRIPTION_FIELDS
from eerender.query import WHOLE_REQUEST_PARAMETER
from eerender.recipes import PARAMS_FIELD, RECIPE_FIELD
from eerender.request import ACCEPTED_FIELDS
from handlers import http
from local import stack
from tests.http.test_render_http import ELEVATION_REQUEST, SRTM

SPEC_PATH = stack.ROOT / "docs" / "openapi.yaml"
# Fields the HTTP trigger reads before the request model: the answer's form.
HTTP_ONLY_FIELDS = {"response"}
# Query spellings of fields, and the signed-link parameters.
QUERY_ONLY_PARAMETERS = {
    WHOLE_REQUEST_PARAMETER,
    "destination.bucket",
    "destination.object",
    auth.EXPIRES_PARAMETER,
    auth.SIGNATURE_PARAMETER,
}
# Modules the HTTP function runs; storage and signing are imported on first use.
LAZY_MODULES = ("eerender.storage", "eerender.signing")
_CODE = re.compile(r"[A-Z][A-Z0-9]*(_[A-Z0-9]+)+|[A-Z]{4,}")


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text())
    return document


def test_document_is_valid_openapi_31(spec: dict[str, Any]) -> None:
    assert spec["openapi"].startswith("3.1")
    validate(spec)


def test_request_schema_matches_model(spec: dict[str, Any]) -> None:
    schema = spec["components"]["schemas"]["RenderRequest"]
    accepted = {*ACCEPTED_FIELDS, RECIPE_FIELD, PARAMS_FIELD, *HTTP_ONLY_FIELDS}

    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) - accepted == set()
    assert accepted - set(schema["properties"]) == set()


@pytest.mark.parametrize(
    "request_body",
    [
        ELEVATION_REQUEST,
        {**ELEVATION_REQUEST, "delivery": "store", "destination": {"object": "a.png"}},
        {"expression": json.dumps(SRTM), "dimensions": [64, 32], "response": "json"},
        {"recipe": "elevation", "params": {"region": [0, 0, 1, 1]}},
    ],
)
def test_request_schema_accepts_valid_requests(
    spec: dict[str, Any], request_body: dict[str, Any]
) -> None:
    schema = {
        "$ref": "#/components/schemas/RenderRequest",
        "components": spec["components"],
    }

    jsonschema.Draft202012Validator(schema).validate(request_body)


def test_query_parameters_match_model(spec: dict[str, Any]) -> None:
    parameters = spec["paths"]["/"]["get"]["parameters"]
    names = {parameter["name"] for parameter in parameters}
    # "params" travels as the recipe's own parameter names in a query string.
    expected = (
        {*ACCEPTED_FIELDS, RECIPE_FIELD, *HTTP_ONLY_FIELDS, *QUERY_ONLY_PARAMETERS}
    ) - {"params"}

    assert names - expected == set()
    assert expected - names == set()


def test_batch_schema_matches_model(spec: dict[str, Any]) -> None:
    schema = spec["components"]["schemas"]["Batch"]

    assert set(schema["properties"]) == set(DESCRIPTION_FIELDS)


def test_signature_headers_match_code(spec: dict[str, Any]) -> None:
    parameters = spec["components"]["parameters"]
    schemes = spec["components"]["securitySchemes"]

    assert parameters["Timestamp"]["name"] == auth.TIMESTAMP_HEADER
    assert parameters["Signature"]["name"] == auth.SIGNATURE_HEADER
    assert parameters["KeyId"]["name"] == auth.KEY_ID_HEADER
    assert schemes["webhookSignature"]["name"] == auth.SIGNATURE_HEADER
    assert schemes["signedLink"]["name"] == auth.SIGNATURE_PARAMETER


def test_paths_match_handler(spec: dict[str, Any]) -> None:
    assert set(spec["paths"]) == {"/", "/batch", http.HEALTH_PATH}


def test_error_codes_match_code(spec: dict[str, Any]) -> None:
    listed = set(
        spec["components"]["schemas"]["ErrorDetail"]["properties"]["code"]["enum"]
    )
    raised = raised_codes()

    assert raised - listed == set(), "codes the function raises but the spec omits"
    assert listed - raised == set(), "codes the spec lists but no code raises"


def raised_codes() -> set[str]:
    """Return the error codes in the modules the HTTP function imports.

    A code is a string given as ``code=`` (directly, or through a module constant or
    a local ``code`` variable), a ``default_code`` class attribute, or an entry of a
    module-level table whose name ends in ``_CODES``.
    """
    codes: set[str] = set()
    for name in http_modules():
        codes |= _codes_in(ast.parse(inspect.getsource(importlib.import_module(name))))
    return codes


def http_modules() -> list[str]:
    """Return the project modules that loading the HTTP function imports.

    A fresh interpreter finds them, because this one contains whatever other tests
    imported.
    """
    imports = ", ".join(("handlers.http", *LAZY_MODULES))
    listing = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import sys, {imports}; print('\\n'.join(sorted(sys.modules)))",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=stack.ROOT,
        timeout=60,
    ).stdout.split()
    return [
        name
        for name in listing
        if name.startswith("eerender.") or name in ("handlers.http", "handlers.batch")
    ]


def _codes_in(tree: ast.Module) -> set[str]:
    constants = {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    codes: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "code":
            codes |= _strings([node.value], constants)
        elif isinstance(node, ast.Assign):
            codes |= _assigned_codes(node, constants)
    return {code for code in codes if _CODE.fullmatch(code)}


def _assigned_codes(node: ast.Assign, constants: dict[str, Any]) -> set[str]:
    codes: set[str] = set()
    for target in node.targets:
        if isinstance(target, ast.Name) and target.id.endswith("_CODES"):
            codes |= _strings(list(ast.walk(node.value)), {})
        pairs: list[tuple[ast.expr, ast.expr]] = [(target, node.value)]
        if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
            pairs = list(zip(target.elts, node.value.elts, strict=False))
        for name, value in pairs:
            if isinstance(name, ast.Name) and name.id in ("code", "default_code"):
                codes |= _strings([value], constants)
    return codes


def _strings(nodes: list[ast.AST], constants: dict[str, Any]) -> set[str]:
    found = set()
    for node in nodes:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.add(node.value)
        elif isinstance(node, ast.Name) and isinstance(constants.get(node.id), str):
            found.add(constants[node.id])
    return found
