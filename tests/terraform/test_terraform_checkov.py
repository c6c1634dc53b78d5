"""checkov finds no failed check, and every skip states its reason."""

from __future__ import annotations

from conftest import REPOSITORY_ROOT, TERRAFORM_DIR
from deployment_checks import checkov_problems


def test_checkov_passes() -> None:
    config = REPOSITORY_ROOT / ".checkov.yaml"
    assert checkov_problems(TERRAFORM_DIR, config) == []
