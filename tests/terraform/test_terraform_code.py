"""The functions Terraform deploys match main.py and eerender/config.py ENVIRONMENT."""

from __future__ import annotations

import importlib
from typing import Any

from code_checks import entry_point_problems, entry_points, environment_problems
from conftest import REPOSITORY_ROOT
from terraform_module import Module


def test_entry_points_match_main(default_module: Module) -> None:
    known = set(importlib.import_module("eerender.config").RENDER)
    exported = entry_points(REPOSITORY_ROOT / "main.py")
    assert entry_point_problems(default_module, exported, known) == []


def test_environment_matches_config(
    module: Module, environment: dict[str, Any]
) -> None:
    assert environment_problems(module, environment) == []
