"""Fixtures for the Terraform checks: the module, the provider schemas, the code."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import provider_schema
import pytest
from terraform_module import Module

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = REPOSITORY_ROOT / "terraform"

if str(REPOSITORY_ROOT) not in sys.path:
    sys.path.insert(0, str(REPOSITORY_ROOT))

# Inputs the checks evaluate the configuration with: the defaults, every optional
# feature switched on, and one shared runtime account.
TFVARS: dict[str, dict[str, Any]] = {
    "defaults": {"project_id": "demo-project"},
    "all-features": {
        "project_id": "demo-project",
        "earth_engine_project_id": "demo-earth-engine",
        "extra_render_buckets": ["shared-renders"],
        "secrets": {"EE_API_KEY": "demo-ee-api-key"},
        "signed_urls": True,
        "cors_allowed_origins": ["https://maps.example.com"],
        "earth_engine_high_volume": True,
        "invokers": {"render_http": ["group:mappers@example.com"]},
    },
    "shared-account": {
        "project_id": "demo-project",
        "shared_service_account": True,
        "signed_urls": True,
        "secrets": {"EE_API_KEY": "demo-ee-api-key"},
    },
}


@pytest.fixture(scope="session", params=sorted(TFVARS))
def module(request: pytest.FixtureRequest) -> Module:
    return Module(TERRAFORM_DIR, TFVARS[request.param])


@pytest.fixture(scope="session")
def default_module() -> Module:
    return Module(TERRAFORM_DIR, TFVARS["defaults"])


@pytest.fixture(scope="session")
def schemas() -> dict[str, Any]:
    return {source: provider_schema.load(source) for source in provider_schema.PACKAGES}


@pytest.fixture(scope="session")
def environment() -> dict[str, Any]:
    return dict(importlib.import_module("eerender.config").ENVIRONMENT)


@pytest.fixture(scope="session")
def repository_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPOSITORY_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return [line for line in listed.stdout.splitlines() if line]


@pytest.fixture
def planted(tmp_path: Path) -> Path:
    """A copy of terraform/ that a test may break."""
    copy = tmp_path / "terraform"
    shutil.copytree(TERRAFORM_DIR, copy, ignore=shutil.ignore_patterns(".terraform"))
    return copy
