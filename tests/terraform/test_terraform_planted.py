"""Each check reports a mistake planted in a copy of terraform/."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from chat_checks import chat_result_problems, claim_lifecycle_problems
from code_checks import (
    CodeFacts,
    coverage_problems,
    entry_point_problems,
    environment_problems,
    topic_form_problems,
)
from conftest import REPOSITORY_ROOT, TFVARS
from deployment_checks import (
    checkov_problems,
    dependency_problems,
    service_problems,
    source_problems,
)
from iam_checks import role_problems, runtime_grant_problems, trigger_problems
from schema_checks import reference_problems, schema_problems, variable_problems
from terraform_module import Module

CHECKOV_CONFIG = REPOSITORY_ROOT / ".checkov.yaml"


def plant(directory: Path, file_name: str, pattern: str, new: str) -> None:
    """Replace the first match of a regular expression in one file of the copy."""
    path = directory / file_name
    text, count = re.subn(pattern, new, path.read_text(), count=1, flags=re.DOTALL)
    assert count == 1, f"{pattern!r} is not in {file_name}; update the planted mistake"
    path.write_text(text)


def defaults(directory: Path) -> Module:
    return Module(directory, TFVARS["defaults"])


def test_attribute_typo_reported(planted: Path, schemas: dict[str, Any]) -> None:
    plant(planted, "functions.tf", r"retry_policy = ", "retry_polcy = ")
    problems = schema_problems(defaults(planted), schemas)
    assert any("unknown attribute retry_polcy" in p for p in problems)


def test_unknown_block_reported(planted: Path, schemas: dict[str, Any]) -> None:
    plant(planted, "storage.tf", r"versioning \{", "versions {")
    problems = schema_problems(defaults(planted), schemas)
    assert any("unknown block versions" in p for p in problems)


def test_missing_required_attribute_reported(
    planted: Path, schemas: dict[str, Any]
) -> None:
    plant(planted, "pubsub.tf", r"\n  topic += google_pubsub_topic\.requests\.id", "")
    problems = schema_problems(defaults(planted), schemas)
    assert any("missing required attribute topic" in p for p in problems)


def test_attribute_reference_typo_reported(
    planted: Path, schemas: dict[str, Any]
) -> None:
    plant(
        planted,
        "iam.tf",
        r"google_service_account\.trigger\.email",
        "google_service_account.trigger.emial",
    )
    problems = reference_problems(defaults(planted), schemas)
    assert any("google_service_account has no emial" in p for p in problems)


def test_missing_grant_reported(
    planted: Path, environment: dict[str, Any], code: CodeFacts
) -> None:
    plant(planted, "iam.tf", r"for_each = local\.runtime_topic_grants", "for_each = {}")
    problems = runtime_grant_problems(defaults(planted), environment, code)
    assert any(
        "missing grant: roles/pubsub.publisher on google_pubsub_topic.requests" in p
        for p in problems
    )


def test_extra_broad_role_reported(
    planted: Path, environment: dict[str, Any], code: CodeFacts
) -> None:
    (planted / "extra.tf").write_text(
        'resource "google_project_iam_member" "broad" {\n'
        "  project = var.project_id\n"
        '  role    = "roles/storage.admin"\n'
        '  member  = "serviceAccount:${google_service_account.runtime'
        '["render-http"].email}"\n'
        "}\n"
    )
    module = defaults(planted)
    assert any(
        "roles/storage.admin is not in the allow-list" in p
        for p in role_problems(module)
    )
    assert any(
        "roles/storage.admin" in p and "does not need" in p
        for p in runtime_grant_problems(module, environment, code)
    )


def test_authoritative_binding_reported(planted: Path) -> None:
    plant(
        planted,
        "iam.tf",
        r'"google_storage_bucket_iam_member" "runtime" \{(.*?)member   = ("[^\n]*")',
        r'"google_storage_bucket_iam_binding" "runtime" {\1members  = [\2]',
    )
    problems = role_problems(defaults(planted))
    assert any("must be additive" in p for p in problems)


def test_missing_variable_description_reported(planted: Path) -> None:
    plant(planted, "variables.tf", r'  description = "Lowest severity[^\n]*\n', "")
    problems = variable_problems(defaults(planted))
    assert any("variable log_level: has no description" in p for p in problems)


def test_missing_validation_reported(planted: Path) -> None:
    plant(planted, "variables.tf", r"  validation \{\n[^}]*var\.runtime\)[^}]*\}\n", "")
    problems = variable_problems(defaults(planted))
    assert any(
        "variable runtime: a string input has no validation" in p for p in problems
    )


def test_unread_environment_variable_reported(
    planted: Path, environment: dict[str, Any]
) -> None:
    plant(
        planted,
        "environment.tf",
        r"(CORS_ALLOWED_ORIGINS = \{\n +functions = )local\._readers\.http_render",
        r"\1local._readers.all_functions",
    )
    module = Module(planted, TFVARS["all-features"])
    problems = environment_problems(module, environment)
    assert (
        "render_pubsub: CORS_ALLOWED_ORIGINS is set but render_pubsub does not read it"
        in problems
    )


def test_missing_required_variable_reported(
    planted: Path, environment: dict[str, Any]
) -> None:
    plant(planted, "environment.tf", r"    EE_PROJECT = \{", "    EE_PROJECT_OLD = {")
    problems = environment_problems(defaults(planted), environment)
    assert "render_http: EE_PROJECT has no default and is not set" in problems


def test_plain_secret_reported(planted: Path, environment: dict[str, Any]) -> None:
    plant(
        planted,
        "environment.tf",
        r"    LOG_LEVEL = \{",
        "    EE_API_KEY = {\n      functions = local._readers.all_functions\n"
        '      value     = "key"\n    }\n    LOG_LEVEL = {',
    )
    problems = environment_problems(defaults(planted), environment)
    assert "render_http: secret EE_API_KEY is a plain environment variable" in problems


def test_entry_point_without_code_reported(default_module: Module) -> None:
    problems = entry_point_problems(
        default_module, {"render_http"}, {"render_http", "chat_slack"}
    )
    assert "Terraform deploys chat_slack but main.py has no function chat_slack" in (
        problems
    )


def test_entry_point_without_function_reported(default_module: Module) -> None:
    exported = {"render_http", "render_batch"}
    problems = entry_point_problems(default_module, exported, {"render_batch"})
    assert "main.py exports render_batch but Terraform deploys no function for it" in (
        problems
    )


def test_trigger_without_retry_reported(planted: Path) -> None:
    plant(
        planted, "functions.tf", r'"RETRY_POLICY_RETRY"', '"RETRY_POLICY_DO_NOT_RETRY"'
    )
    problems = trigger_problems(defaults(planted))
    assert "render_storage: event trigger does not retry failed deliveries" in problems


def test_unbounded_dead_letter_reported(planted: Path) -> None:
    plant(planted, "pubsub.tf", r"  dead_letter_policy \{[^}]*\}\n", "")
    problems = trigger_problems(defaults(planted))
    assert any("without a bounded dead-letter policy" in p for p in problems)


def test_missing_trigger_invoker_reported(planted: Path) -> None:
    plant(
        planted,
        "iam.tf",
        r"for_each = toset\(local\.event_functions\)",
        "for_each = []",
    )
    problems = trigger_problems(defaults(planted))
    assert any("cannot invoke" in p and "render_storage" in p for p in problems)


def test_function_before_grants_reported(planted: Path) -> None:
    plant(planted, "functions.tf", r"\n    time_sleep\.service_agent_grants,", "")
    problems = dependency_problems(defaults(planted))
    assert any("does not wait for IAM propagation" in p for p in problems)


def test_constant_source_name_reported(
    planted: Path, repository_files: list[str]
) -> None:
    plant(
        planted, "functions.tf", r"\$\{data\.archive_file\.source\.output_md5\}", "src"
    )
    problems = source_problems(defaults(planted), repository_files)
    assert any("does not carry the archive hash" in p for p in problems)


def test_tests_in_source_archive_reported(
    planted: Path, repository_files: list[str]
) -> None:
    plant(planted, "functions.tf", r' "tests/\*\*",', "")
    problems = source_problems(defaults(planted), repository_files)
    assert any(p.startswith("tests/") for p in problems)


def test_disabled_api_on_destroy_reported(planted: Path) -> None:
    plant(planted, "main.tf", r"disable_on_destroy         = false", "")
    problems = service_problems(defaults(planted))
    assert any("set disable_on_destroy = false" in p for p in problems)


def test_extra_earth_engine_permission_reported(planted: Path) -> None:
    plant(
        planted,
        "iam.tf",
        r'"earthengine\.thumbnails\.get",',
        '"earthengine.thumbnails.get",\n    "earthengine.assets.delete",',
    )
    problems = role_problems(defaults(planted))
    assert any("earthengine.assets.delete is not needed" in p for p in problems)


def test_public_bucket_reported_by_checkov(planted: Path) -> None:
    plant(planted, "storage.tf", r'= "enforced"', '= "inherited"')
    problems = checkov_problems(planted, CHECKOV_CONFIG)
    assert any(p.startswith("CKV_GCP_114") for p in problems)


def test_bare_checkov_skip_reported(planted: Path) -> None:
    plant(planted, "pubsub.tf", r"(checkov:skip=CKV_GCP_83):[^\n]*", r"\1")
    problems = checkov_problems(planted, CHECKOV_CONFIG)
    assert any("gives no reason" in p for p in problems)


def test_unconditioned_claims_grant_reported(
    planted: Path, environment: dict[str, Any], code: CodeFacts
) -> None:
    plant(
        planted,
        "iam.tf",
        r"for_each = try\(\[each\.value\.condition\], \[\]\)",
        "for_each = []",
    )
    module = defaults(planted)
    assert any(
        "roles/storage.objectUser is granted without a condition" in p
        for p in role_problems(module)
    )
    problems = runtime_grant_problems(module, environment, code)
    assert any(
        p.startswith("missing grant: roles/storage.objectUser") and "chat/" in p
        for p in problems
    )
    assert any("objectUser" in p and "does not need" in p for p in problems)


def test_missing_geotiff_bucket_read_reported(
    planted: Path, environment: dict[str, Any], code: CodeFacts
) -> None:
    plant(
        planted,
        "iam.tf",
        r'\["objectViewer", "legacyBucketReader"\]',
        '["objectViewer"]',
    )
    problems = runtime_grant_problems(defaults(planted), environment, code)
    assert any(
        "missing grant: roles/storage.legacyBucketReader on "
        "google_storage_bucket.requests" in p
        for p in problems
    )


def test_missing_render_read_reported(
    planted: Path, environment: dict[str, Any], code: CodeFacts
) -> None:
    plant(
        planted, "iam.tf", r'\["objectCreator", "objectViewer"\]', '["objectCreator"]'
    )
    problems = runtime_grant_problems(defaults(planted), environment, code)
    assert any(
        "missing grant: roles/storage.objectViewer on google_storage_bucket.renders"
        in p
        and "reads RENDER_BUCKET" in p
        for p in problems
    )


def test_push_audience_mismatch_reported(
    planted: Path, environment: dict[str, Any], code: CodeFacts
) -> None:
    plant(
        planted,
        "pubsub.tf",
        r"audience += local\.run_urls\[each\.key\]",
        "audience = google_cloudfunctions2_function.main[each.key]"
        ".service_config[0].uri",
    )
    problems = chat_result_problems(defaults(planted), environment, code)
    assert any("is not chat_slack's PUSH_AUDIENCE" in p for p in problems)


def test_wrong_results_filter_reported(
    planted: Path, environment: dict[str, Any], code: CodeFacts
) -> None:
    plant(planted, "main.tf", r'chat_slack  = "slack"', 'chat_slack  = "chat"')
    problems = chat_result_problems(defaults(planted), environment, code)
    assert any("chat_slack misses its own results" in p for p in problems)


def test_claims_kept_reported(
    planted: Path, environment: dict[str, Any], code: CodeFacts
) -> None:
    plant(
        planted,
        "storage.tf",
        r"matches_prefix = \[local\.chat_claims_prefix\]",
        'matches_prefix = ["chat/"]',
    )
    problems = claim_lifecycle_problems(defaults(planted), environment, code)
    assert any("claims under renders/chat/ after a day" in p for p in problems)


def test_bare_topic_id_reported(planted: Path, environment: dict[str, Any]) -> None:
    plant(
        planted,
        "environment.tf",
        r"google_pubsub_topic\.requests\.id",
        "google_pubsub_topic.requests.name",
    )
    problems = topic_form_problems(defaults(planted), environment)
    assert any(
        p.startswith("render_http: REQUEST_TOPIC is google_pubsub_topic.requests.name")
        for p in problems
    )


def test_unpassed_variable_reported(planted: Path, environment: dict[str, Any]) -> None:
    plant(
        planted,
        "environment.tf",
        r"functions = concat\(local\._readers\.http_render, "
        r"local\._readers\.chat_apps\)",
        "functions = local._readers.http_render",
    )
    modules = [Module(planted, tfvars) for tfvars in TFVARS.values()]
    problems = coverage_problems(modules, environment)
    assert any(
        p.startswith("chat_slack reads REQUEST_TOPIC, which Terraform never passes")
        for p in problems
    )


def test_secret_for_wrong_function_reported(
    planted: Path, environment: dict[str, Any]
) -> None:
    plant(
        planted,
        "environment.tf",
        r"SLACK_SIGNING_SECRET = local\._readers\.slack",
        "SLACK_SIGNING_SECRET = local._readers.chat_apps",
    )
    problems = environment_problems(
        Module(planted, TFVARS["all-features"]), environment
    )
    assert (
        "chat_google: SLACK_SIGNING_SECRET is set but chat_google does not read it"
        in problems
    )


def test_missing_push_invoker_reported(planted: Path) -> None:
    plant(
        planted,
        "iam.tf",
        r'"\$\{name\} results-push" =>',
        '"${name} results-push-off" =>',
    )
    plant(
        planted,
        "iam.tf",
        r"if !contains\(var\.public_access\.functions, name\)\n",
        "if false\n",
    )
    problems = trigger_problems(defaults(planted))
    assert any(
        'cannot invoke google_cloudfunctions2_function.main["chat_google"]' in p
        and "results_push" in p
        for p in problems
    )


def test_unbounded_results_push_reported(planted: Path) -> None:
    plant(
        planted,
        "pubsub.tf",
        r'message_retention_duration = "86400s"(\n\n  push_config)',
        r'message_retention_duration = "604800s"\1',
    )
    problems = trigger_problems(defaults(planted))
    assert any(
        'chat_results["chat_slack"]: pushes without a bounded dead-letter policy' in p
        for p in problems
    )
