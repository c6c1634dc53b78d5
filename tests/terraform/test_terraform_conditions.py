"""Validations, preconditions and check blocks accept good inputs and catch bad ones."""

from __future__ import annotations

from typing import Any

import pytest
from condition_checks import failed_checks, failed_preconditions, failed_validations
from conftest import TERRAFORM_DIR, TFVARS
from terraform_module import Module

# Check blocks that warn for a checked configuration, on purpose. None do now: the
# signed-http configuration keeps chat_google private with the endpoint-url audience,
# which works because the code accepts tokens Cloud Run has checked.
EXPECTED_WARNINGS: dict[str, set[str]] = {}

INVALID_INPUTS: list[tuple[str, Any]] = [
    ("chat", {"google_audience": "123456789012"}),
    ("chat", {"reply_seconds": 45}),
    ("chat", {"repeat_seconds": 100000}),
    ("chat", {"slack_response_url_prefixes": ["hooks.slack.com"]}),
    ("events", {"batch_max_items": 0}),
    ("events", {"geotiff_preview": "[512]"}),
    ("events", {"max_age_seconds": -1}),
    ("events", {"request_prefix": "/requests/"}),
    ("expression_policy", {"asset_prefixes": ["*"]}),
    ("expression_policy", {"source_buckets": ["first,second"]}),
    ("http_security", {"auth_modes": ["iam", "hmac"]}),
    ("http_security", {"auth_modes": ["oauth"]}),
    ("http_security", {"rate_burst": 0}),
    ("pubsub", {"endpoint": "http://127.0.0.1:8085"}),
    ("secrets", {"SLACK_BOT_TOKEN": "slack-bot-token"}),
]


def with_inputs(**tfvars: Any) -> Module:
    return Module(TERRAFORM_DIR, {"project_id": "demo-project", **tfvars})


@pytest.mark.parametrize("name", sorted(TFVARS))
def test_checked_inputs_valid(name: str, modules: dict[str, Module]) -> None:
    assert failed_validations(modules[name]) == {}
    assert failed_preconditions(modules[name]) == {}


@pytest.mark.parametrize("name", sorted(TFVARS))
def test_checks_warn_where_expected(name: str, modules: dict[str, Module]) -> None:
    assert set(failed_checks(modules[name])) == EXPECTED_WARNINGS.get(name, set())


@pytest.mark.parametrize(("variable", "value"), INVALID_INPUTS)
def test_invalid_input_rejected(variable: str, value: Any) -> None:
    failed = failed_validations(with_inputs(**{variable: value}))
    assert any(key.startswith(f"variable {variable} ") for key in failed), failed


def test_signed_modes_need_public_function() -> None:
    module = with_inputs(
        http_security={"auth_modes": ["hmac"]},
        secrets={"HTTP_HMAC_KEYS": "demo-webhook-keys"},
    )
    messages = list(failed_preconditions(module).values())
    assert len(messages) == 1
    assert "public_access" in messages[0]


@pytest.mark.parametrize(
    ("mode", "variable"),
    [("hmac", "HTTP_HMAC_KEYS"), ("signed-link", "HTTP_LINK_KEYS")],
)
def test_signed_mode_needs_keys(mode: str, variable: str) -> None:
    module = with_inputs(
        http_security={"auth_modes": [mode]},
        public_access={"functions": ["render_http"], "accept_cost_risk": True},
    )
    messages = list(failed_preconditions(module).values())
    assert len(messages) == 1
    assert variable in messages[0]


def test_region_outside_geotiff_locations_warns() -> None:
    failed = failed_checks(with_inputs(region="europe-west4"))
    assert "check.geotiff_bucket_location" in failed
    assert "US-CENTRAL1" in failed["check.geotiff_bucket_location"]
    assert "europe-west4" in failed["check.geotiff_bucket_location"]


def test_public_slack_without_secret_warns() -> None:
    module = with_inputs(
        public_access={"functions": ["chat_slack"], "accept_cost_risk": True},
        expression_policy={"asset_prefixes": ["USGS"], "source_buckets": []},
        signed_urls=True,
    )
    assert set(failed_checks(module)) == {"check.slack_signing_secret"}


def test_public_function_without_policy_warns() -> None:
    module = with_inputs(
        public_access={"functions": ["chat_google"], "accept_cost_risk": True},
        chat={"google_audience": "project-number"},
        signed_urls=True,
    )
    assert set(failed_checks(module)) == {"check.public_expression_policy"}


def test_chat_without_signed_urls_warns() -> None:
    module = with_inputs(
        public_access={"functions": ["chat_google"], "accept_cost_risk": True},
        chat={"google_audience": "project-number"},
        expression_policy={"asset_prefixes": ["USGS"], "source_buckets": []},
    )
    assert set(failed_checks(module)) == {"check.chat_images_signed"}


def test_public_iam_render_http_warns() -> None:
    module = with_inputs(
        public_access={"functions": ["render_http"], "accept_cost_risk": True},
        expression_policy={"asset_prefixes": ["USGS"], "source_buckets": []},
    )
    assert set(failed_checks(module)) == {"check.public_render_http_auth"}


def test_private_chat_with_project_number_warns() -> None:
    module = with_inputs(
        chat={"google_audience": "project-number"},
        signed_urls=True,
    )
    assert "check.chat_google_token_check" in set(failed_checks(module))
