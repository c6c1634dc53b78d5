"""Every grant is additive, allow-listed and needed by the code that runs with it."""

from __future__ import annotations

from typing import Any

from code_checks import CodeFacts
from conftest import REPOSITORY_ROOT
from iam_checks import (
    earth_engine_permissions_used,
    earth_engine_role_problems,
    grants,
    public_access_problems,
    role_problems,
    runtime_grant_problems,
    trigger_problems,
)
from schema_checks import literal
from terraform_module import Module


def test_roles_within_allow_list(module: Module) -> None:
    assert role_problems(module) == []


def test_nothing_public_by_default(default_module: Module) -> None:
    assert public_access_problems(default_module) == []


def test_public_access_needs_cost_acknowledgement() -> None:
    from conftest import TERRAFORM_DIR

    public = Module(
        TERRAFORM_DIR,
        {
            "project_id": "demo-project",
            "public_access": {"functions": ["chat_slack"], "accept_cost_risk": True},
        },
    )
    members = {
        grant.member: grant.target
        for grant in grants(public)
        if grant.role == "roles/run.invoker"
    }
    assert members["allUsers"] == 'google_cloudfunctions2_function.main["chat_slack"]'

    variable = public.variables["public_access"]
    messages = [
        literal(public, validation, "error_message")
        for validation in variable.blocks
        if validation.kind == "validation"
    ]
    assert any("accept_cost_risk" in message for message in messages)
    assert any("billed" in message for message in messages)


def test_runtime_grants_match_code(
    module: Module, environment: dict[str, Any], code: CodeFacts
) -> None:
    assert runtime_grant_problems(module, environment, code) == []


def test_earth_engine_role_matches_code(default_module: Module) -> None:
    needed = earth_engine_permissions_used(
        [REPOSITORY_ROOT / "eerender", REPOSITORY_ROOT / "handlers"]
    )
    assert earth_engine_role_problems(default_module, needed) == []


def test_event_deliveries_retry_and_dead_letter(module: Module) -> None:
    assert trigger_problems(module) == []
