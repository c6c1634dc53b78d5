"""The functions Terraform deploys match main.py and eerender/config.py ENVIRONMENT."""

from __future__ import annotations

import importlib
from typing import Any

from code_checks import (
    CodeFacts,
    coverage_problems,
    entry_point_problems,
    entry_points,
    environment_problems,
    topic_form_problems,
)
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


def test_every_read_variable_passed(
    modules: dict[str, Module], environment: dict[str, Any]
) -> None:
    assert coverage_problems(modules.values(), environment) == []


def test_topics_passed_as_full_names(
    module: Module, environment: dict[str, Any]
) -> None:
    assert topic_form_problems(module, environment) == []


def test_code_facts_found(code: CodeFacts) -> None:
    # Empty facts would let the chat and GeoTIFF checks pass without checking.
    chat = importlib.import_module("eerender.config").CHAT
    assert set(code.chat_apps) == set(chat)
    assert all(code.chat_apps.values())
    assert code.app_attribute
    assert code.results_path.startswith("/")
    assert code.claims_folder.endswith("/")
    assert len(code.claims_folder) > 1
    assert "render_storage" in code.geotiff_readers
