"""checkov finds no failed check, and every skip states its reason."""

from __future__ import annotations

import terraform_checks as checks
from conftest import REPOSITORY_ROOT, TERRAFORM_DIR


def test_checkov_passes() -> None:
    config = REPOSITORY_ROOT / ".checkov.yaml"
    assert checks.checkov_problems(TERRAFORM_DIR, config) == []
