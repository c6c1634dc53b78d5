"""Checks that the deployed functions match main.py and eerender/config.py.

Each check returns a list of problems, empty when it passes.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from terraform_module import Instance, Module


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
