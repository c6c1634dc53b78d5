"""Checks that the deployed functions match main.py and eerender/config.py.

Each check returns a list of problems, empty when it passes.
"""

from __future__ import annotations

import ast
import importlib
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hcl_expression import Ref, Template
from terraform_module import Instance, Module

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]

# Variables of eerender/config.py ENVIRONMENT that Terraform leaves to the code's
# default, with the reason. Every other variable that is not local_only must be passed
# to each function that reads it, in at least one of the checked configurations.
LEFT_TO_CODE_DEFAULTS = {
    **dict.fromkeys(
        ("EE_API_VERSION", "EE_LOCATION", "EE_WORKLOAD_TAG"),
        "Earth Engine request options: the defaults call the global v1 API untagged",
    ),
    **dict.fromkeys(
        ("EE_CONNECT_TIMEOUT", "EE_READ_TIMEOUT", "EE_DEADLINE", "EE_MAX_ATTEMPTS"),
        "timeouts and retries, whose defaults fit the default function timeouts",
    ),
    **dict.fromkeys(
        (
            "RENDER_MAX_BODY_BYTES",
            "RENDER_MAX_NODES",
            "RENDER_MAX_DEPTH",
            "RENDER_MAX_OUTPUT_BYTES",
            "RENDER_MAX_GRID_SIDE",
            "RENDER_MAX_BANDS",
            "RENDER_MAX_REGION_VERTICES",
            "RENDER_DEFAULT_DIMENSIONS",
            "STORE_CHUNK_BYTES",
        ),
        "size limits of requests, outputs and uploads, kept at the code's defaults",
    ),
    **dict.fromkeys(
        (
            "RENDER_CACHE_CONTROL",
            "REDIRECT_MAX_AGE",
            "THUMBNAIL_CACHE_SECONDS",
            "SIGNED_URL_TTL",
        ),
        "cache and link lifetimes, kept at the code's defaults",
    ),
    **dict.fromkeys(
        ("IAM_CREDENTIALS_URL", "CHAT_API_URL", "CHAT_CERTS_URL", "ID_TOKEN_CERTS_URL"),
        "Google endpoints; other values point at local stand-ins",
    ),
    "STARTUP_CHECK": "deployments keep the cold-start check on",
    "RECIPE_DIR": "deployed functions use the recipes/ folder shipped with the code",
}


@dataclass(frozen=True)
class CodeFacts:
    """What the code does that the grants and subscriptions must match."""

    # Reply app attribute value of each chat entry point's results.
    chat_apps: Mapping[str, str]
    app_attribute: str
    results_path: str
    # Folder under RENDER_OBJECT_PREFIX that contains the chat apps' claims.
    claims_folder: str
    # Entry points that render uploaded GeoTIFFs through Earth Engine.
    geotiff_readers: frozenset[str]


def code_facts(main_py: Path = REPOSITORY_ROOT / "main.py") -> CodeFacts:
    """Read the facts from the modules that main.py's entry points call."""
    config = importlib.import_module("eerender.config")
    chat_apps = importlib.import_module("eerender.chat_apps")
    claims = importlib.import_module("eerender.command_claims")
    handlers = handler_modules(main_py)
    folder = os.path.commonprefix([claims.COMMANDS_FOLDER, claims.REPLIES_FOLDER])
    return CodeFacts(
        chat_apps={
            name: importlib.import_module(handlers[name]).APP for name in config.CHAT
        },
        app_attribute=chat_apps.APP_ATTRIBUTE,
        results_path=chat_apps.RESULTS_PATH,
        claims_folder=folder[: folder.rfind("/") + 1],
        geotiff_readers=frozenset(
            name
            for name, module in handlers.items()
            if "Image.loadGeoTIFF" in _module_source(module)
        ),
    )


def handler_modules(main_py: Path) -> dict[str, str]:
    """Map each entry point in main.py to the handlers module that it calls."""
    tree = ast.parse(main_py.read_text())
    module_level = _handler_imports(tree.body)
    found = {}
    for function in (n for n in tree.body if isinstance(n, ast.FunctionDef)):
        # Entry points may import their handler inside the function, to keep each
        # function's cold start to its own imports.
        imported = {**module_level, **_handler_imports(ast.walk(function))}
        for node in ast.walk(function):
            if (
                isinstance(node, ast.Attribute)
                and node.attr == "handle"
                and isinstance(node.value, ast.Name)
                and node.value.id in imported
            ):
                found[function.name] = imported[node.value.id]
    return found


def _handler_imports(nodes: Iterable[ast.AST]) -> dict[str, str]:
    return {
        alias.asname or alias.name: f"{node.module}.{alias.name}"
        for node in nodes
        if isinstance(node, ast.ImportFrom) and node.module == "handlers"
        for alias in node.names
    }


def _module_source(module: str) -> str:
    return (REPOSITORY_ROOT / (module.replace(".", "/") + ".py")).read_text()


def entry_points(main_py: Path) -> set[str]:
    """Names main.py defines or imports at module level, the functions it exports."""
    if not main_py.exists():
        return set()
    tree = ast.parse(main_py.read_text())
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.ImportFrom):
            names.update(alias.asname or alias.name for alias in node.names)
    return {name for name in names if not name.startswith("_")}


def functions(module: Module) -> dict[str, Instance]:
    """Function instances keyed by their entry point."""
    return {
        instance.values["build_config"][0]["entry_point"]: instance
        for instance in module.instances_of("google_cloudfunctions2_function")
    }


def entry_point_problems(
    module: Module, exported: set[str], known: set[str]
) -> list[str]:
    """Report entry points main.py exports without a function, and functions whose
    entry point main.py lacks. ``known`` limits the first check to entry point names."""
    deployed = set(functions(module))
    problems = [
        f"main.py exports {name} but Terraform deploys no function for it"
        for name in sorted((exported & known) - deployed)
    ]
    problems += [
        f"Terraform deploys {name} but main.py has no function {name}"
        for name in sorted(deployed - exported)
    ]
    return problems


def environment_problems(module: Module, environment: Mapping[str, Any]) -> list[str]:
    """Report variables set for a function that does not read them, local-only or
    undeclared variables, secrets passed in plain text (and the reverse), and
    variables without a default that a reading function does not get."""
    problems = []
    for name, function in functions(module).items():
        service = function.values["service_config"][0]
        plain = set(service.get("environment_variables", {}))
        secret = {
            item["key"] for item in service.get("secret_environment_variables", [])
        }
        for variable in sorted(plain | secret):
            declared = environment.get(variable)
            if declared is None:
                problems.append(
                    f"{name}: {variable} is set but the code declares no such variable"
                )
                continue
            if name not in declared.functions:
                problems.append(
                    f"{name}: {variable} is set but {name} does not read it"
                )
            if declared.local_only:
                problems.append(f"{name}: {variable} is for local runs only")
            if declared.secret and variable in plain:
                problems.append(
                    f"{name}: secret {variable} is a plain environment variable"
                )
            if not declared.secret and variable in secret:
                problems.append(
                    f"{name}: {variable} comes from Secret Manager but is not secret"
                )
        for variable, declared in environment.items():
            required = name in declared.functions and declared.default is None
            if required and variable not in plain | secret:
                problems.append(f"{name}: {variable} has no default and is not set")
    return problems


def coverage_problems(
    modules: Iterable[Module], environment: Mapping[str, Any]
) -> list[str]:
    """Report variables a function reads that no configuration passes to it, unless
    LEFT_TO_CODE_DEFAULTS gives the reason, and stale entries of that list."""
    passed: set[tuple[str, str]] = set()
    for module in modules:
        for name, function in functions(module).items():
            service = function.values["service_config"][0]
            passed.update(
                (name, variable)
                for variable in service.get("environment_variables", {})
            )
            passed.update(
                (name, item["key"])
                for item in service.get("secret_environment_variables", [])
            )
    problems = []
    for variable, declared in environment.items():
        if declared.local_only or variable in LEFT_TO_CODE_DEFAULTS:
            continue
        problems += [
            f"{name} reads {variable}, which Terraform never passes; pass it or add "
            "it to LEFT_TO_CODE_DEFAULTS with the reason"
            for name in declared.functions
            if (name, variable) not in passed
        ]
    for variable in sorted(LEFT_TO_CODE_DEFAULTS):
        if variable not in environment:
            problems.append(
                f"LEFT_TO_CODE_DEFAULTS names {variable}, which no code reads"
            )
        elif any(pair[1] == variable for pair in passed):
            problems.append(
                f"LEFT_TO_CODE_DEFAULTS names {variable}, which Terraform passes"
            )
    return problems


_TOPIC_NAME = re.compile(r"projects/[^/]+/topics/[^/]+")


def topic_form_problems(module: Module, environment: Mapping[str, Any]) -> list[str]:
    """Report topic variables passed as a bare topic id. eerender/pubsub.py completes
    a bare id with EE_PROJECT, the Earth Engine project, which need not hold the
    topics, so Terraform passes projects/PROJECT/topics/TOPIC."""
    problems = []
    for name, function in functions(module).items():
        service = function.values["service_config"][0]
        for variable, value in service.get("environment_variables", {}).items():
            if getattr(environment.get(variable), "access", "") != "topic:publish":
                continue
            full_name = (
                isinstance(value, Ref)
                and value.address.startswith("google_pubsub_topic.")
                and value.attribute == "id"
            ) or (isinstance(value, str) and _TOPIC_NAME.fullmatch(value) is not None)
            if not full_name:
                shown = (
                    value if isinstance(value, (str, Ref, Template)) else repr(value)
                )
                problems.append(
                    f"{name}: {variable} is {shown}, not projects/PROJECT/topics/TOPIC"
                )
    return problems
