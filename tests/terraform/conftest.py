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
from code_checks import CodeFacts, code_facts
from terraform_module import Module

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = REPOSITORY_ROOT / "terraform"

if str(REPOSITORY_ROOT) not in sys.path:
    sys.path.insert(0, str(REPOSITORY_ROOT))

# Inputs the checks evaluate the configuration with: the defaults, every optional
# feature switched on, one shared runtime account, and render_http behind signed
# requests with a private Google Chat app. Between them they set every variable that
# Terraform passes, so the completeness check sees each one.
TFVARS: dict[str, dict[str, Any]] = {
    "defaults": {"project_id": "demo-project"},
    "all-features": {
        "project_id": "demo-project",
        "earth_engine_project_id": "demo-earth-engine",
        "extra_render_buckets": ["shared-renders"],
        "secrets": {
            "EE_API_KEY": "demo-ee-api-key",
            "SLACK_SIGNING_SECRET": "demo-slack-signing-secret",
        },
        "signed_urls": True,
        "cors_allowed_origins": ["https://maps.example.com"],
        "earth_engine_high_volume": True,
        "invokers": {"render_http": ["group:mappers@example.com"]},
        "public_access": {
            "functions": ["chat_google", "chat_slack"],
            "accept_cost_risk": True,
        },
        "chat": {
            "google_audience": "project-number",
            "reply_seconds": 15,
            "repeat_seconds": 300,
            "slack_response_url_prefixes": ["https://hooks.slack.com/"],
        },
        "events": {
            "batch_max_items": 500,
            "geotiff_preview": '{"dimensions": 256, "format": "jpg"}',
            "max_age_seconds": 3600,
            "request_prefix": "incoming/",
        },
        "expression_policy": {
            "algorithms": ["Image.*", "Terrain.hillshade"],
            "asset_prefixes": ["USGS", "COPERNICUS/S2*"],
            "source_buckets": ["shared-geotiffs"],
        },
        "http_security": {
            "max_pixels": 16777216,
            "rate_burst": 40,
            "rate_limit_per_minute": 120,
            "trusted_proxy_hops": 1,
        },
        "pubsub": {
            "endpoint": "https://us-central1-pubsub.googleapis.com",
            "publish_timeout_seconds": 5,
        },
    },
    "shared-account": {
        "project_id": "demo-project",
        "shared_service_account": True,
        "signed_urls": True,
        "secrets": {"EE_API_KEY": "demo-ee-api-key"},
    },
    "signed-http": {
        "project_id": "demo-project",
        "signed_urls": True,
        "secrets": {
            "HTTP_HMAC_KEYS": "demo-webhook-keys",
            "HTTP_LINK_KEYS": "demo-link-keys",
        },
        "public_access": {"functions": ["render_http"], "accept_cost_risk": True},
        "expression_policy": {"asset_prefixes": ["USGS"], "source_buckets": []},
        "http_security": {
            "auth_modes": ["hmac", "signed-link"],
            "hmac_max_skew_seconds": 120,
        },
        "chat": {"google_audience": "endpoint-url", "filter_results": False},
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
def code() -> CodeFacts:
    return code_facts()


@pytest.fixture(scope="session")
def modules() -> dict[str, Module]:
    return {name: Module(TERRAFORM_DIR, tfvars) for name, tfvars in TFVARS.items()}


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
