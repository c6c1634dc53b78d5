"""Results reach the chat apps as their code checks them, and claims are deleted."""

from __future__ import annotations

from typing import Any

from chat_checks import chat_result_problems, claim_lifecycle_problems
from code_checks import CodeFacts
from terraform_module import Module


def test_chat_results_pushed_as_checked(
    module: Module, environment: dict[str, Any], code: CodeFacts
) -> None:
    assert chat_result_problems(module, environment, code) == []


def test_chat_claims_deleted_after_day(
    module: Module, environment: dict[str, Any], code: CodeFacts
) -> None:
    assert claim_lifecycle_problems(module, environment, code) == []
