"""The Terraform files parse, match the provider schema and follow the module style."""

from __future__ import annotations

from typing import Any

from conftest import TERRAFORM_DIR
from deployment_checks import dependency_problems, service_problems, source_problems
from schema_checks import (
    output_problems,
    parse_problems,
    reference_problems,
    schema_problems,
    variable_problems,
    version_problems,
)
from terraform_module import Module


def test_every_file_parses() -> None:
    assert parse_problems(TERRAFORM_DIR) == []


def test_blocks_match_provider_schema(
    default_module: Module, schemas: dict[str, Any]
) -> None:
    assert schema_problems(default_module, schemas) == []


def test_references_match_provider_schema(
    module: Module, schemas: dict[str, Any]
) -> None:
    assert reference_problems(module, schemas) == []


def test_variables_typed_described_validated(default_module: Module) -> None:
    assert variable_problems(default_module) == []


def test_outputs_described(default_module: Module) -> None:
    assert output_problems(default_module) == []


def test_versions_have_floor_and_ceiling(default_module: Module) -> None:
    assert version_problems(default_module) == []


def test_required_apis_enabled_and_kept(module: Module) -> None:
    assert service_problems(module) == []


def test_functions_wait_for_apis_and_grants(module: Module) -> None:
    assert dependency_problems(module) == []


def test_source_archive_holds_code_only(
    default_module: Module, repository_files: list[str]
) -> None:
    assert source_problems(default_module, repository_files) == []


def test_for_each_keys_are_strings(module: Module) -> None:
    # Keys taken from list positions change when the list is reordered, which
    # replaces resources; every expanded instance here is keyed by a string.
    numeric = [i.address for i in module.instances if isinstance(i.key, int)]
    assert numeric == []


def test_example_tfvars_uses_declared_variables(default_module: Module) -> None:
    example = Module(TERRAFORM_DIR, {})
    text = (TERRAFORM_DIR / "terraform.tfvars.example").read_text()
    assigned = {
        line.split("=", 1)[0].strip()
        for line in text.splitlines()
        if "=" in line and not line.startswith(("#", " "))
    }
    assert assigned <= set(example.variables)
    assert "project_id" in assigned
