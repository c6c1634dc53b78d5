"""Checks of the Terraform configuration against the provider schema, the code and a
role allow-list. Each check returns a list of problems (empty when it passes), so the
tests can assert both that the real configuration passes and that a planted mistake
is reported.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2
from terraform_module import (
    Block,
    Instance,
    Module,
    Ref,
    Template,
    block_address,
    iter_refs,
)

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]

# Roles the configuration may grant, and the IAM resource types that may grant each.
# Anything else, including basic roles, project-wide storage roles and the Earth Engine
# writer, admin and viewer roles, is reported.
ROLE_ALLOW_LIST: dict[str, frozenset[str]] = {
    "roles/storage.objectCreator": frozenset({"google_storage_bucket_iam_member"}),
    "roles/storage.objectViewer": frozenset({"google_storage_bucket_iam_member"}),
    "roles/pubsub.publisher": frozenset(
        # Project-wide only for the Cloud Storage service agent (SERVICE_AGENT_ROLES).
        {"google_pubsub_topic_iam_member", "google_project_iam_member"}
    ),
    "roles/pubsub.subscriber": frozenset({"google_pubsub_subscription_iam_member"}),
    "roles/secretmanager.secretAccessor": frozenset(
        {"google_secret_manager_secret_iam_member"}
    ),
    "roles/iam.serviceAccountTokenCreator": frozenset(
        {"google_service_account_iam_member"}
    ),
    "roles/run.invoker": frozenset({"google_cloud_run_service_iam_member"}),
    "roles/eventarc.eventReceiver": frozenset({"google_project_iam_member"}),
    "roles/eventarc.serviceAgent": frozenset({"google_project_iam_member"}),
    "roles/serviceusage.serviceUsageConsumer": frozenset({"google_project_iam_member"}),
}

# Project-level roles that only a service agent may hold.
SERVICE_AGENT_ROLES = {
    "roles/pubsub.publisher": "data.google_storage_project_service_account.main",
    "roles/eventarc.serviceAgent": "google_project_service_identity.eventarc",
}

# Permissions a custom Earth Engine role may hold, and the REST call that needs each.
# The code's source is searched for the call's URL form.
EARTH_ENGINE_CALLS = {
    "/thumbnails": "earthengine.thumbnails.create",
    ":getPixels": "earthengine.thumbnails.get",
    ":computePixels": "earthengine.computations.create",
    "value:compute": "earthengine.computations.create",
}

PUBLIC_MEMBERS = frozenset({"allUsers", "allAuthenticatedUsers"})

REQUIRED_SERVICES = frozenset(
    f"{name}.googleapis.com"
    for name in (
        "earthengine",
        "cloudfunctions",
        "run",
        "cloudbuild",
        "artifactregistry",
        "eventarc",
        "pubsub",
        "storage",
        "iamcredentials",
        "secretmanager",
    )
)

# Paths of the repository that must stay out of the function source archive.
EXCLUDED_FROM_SOURCE = (
    "tests/",
    "terraform/",
    "standin/",
    "local/",
    "bench/",
    "docs/",
    "recipes-tests/",
    "data/",
    ".cache/",
    ".venv/",
)
KEPT_IN_SOURCE = ("main.py", "requirements.txt", "eerender/config.py")

PROVIDER_OF_PREFIX = {
    "google": "hashicorp/google",
    "archive": "hashicorp/archive",
    "time": "hashicorp/time",
}


# Parsing and the provider schema ------------------------------------------------------


def parse_problems(directory: Path) -> list[str]:
    """Report .tf files that python-hcl2's parser rejects."""
    problems = []
    for path in sorted(directory.glob("*.tf")):
        try:
            hcl2.loads(path.read_text() + "\n")
        except Exception as error:  # the parser raises several Lark error types
            problems.append(f"{path.name}: does not parse: {error}")
    return problems


def schema_problems(module: Module, schemas: Mapping[str, Any]) -> list[str]:
    """Report resource types, attributes and blocks the provider schema lacks, and
    required attributes or blocks that are missing."""
    problems = []
    for block in module.resources.values():
        kind = "data" if block.kind == "data" else "resources"
        type_name = block.labels[0]
        source = _provider_source(block)
        declared = schemas[source][kind].get(type_name)
        if declared is None:
            problems.append(
                f"{_where(block)}: {source} has no {block.kind} {type_name}"
            )
            continue
        problems += _body_problems(block, declared, f"{_where(block)} {block.address}")
    return problems


def _provider_source(block: Block) -> str:
    if "provider" in block.attributes:
        provider = _text(block.attributes["provider"])
        if provider.startswith("google-beta"):
            return "hashicorp/google-beta"
    return PROVIDER_OF_PREFIX[block.labels[0].split("_", 1)[0]]


def _text(node: Any) -> str:
    from lark import Token, Tree

    if isinstance(node, Token):
        return str(node)
    if isinstance(node, Tree):
        return "".join(_text(child) for child in node.children)
    return str(node)


def _body_problems(block: Block, declared: Mapping[str, Any], where: str) -> list[str]:
    problems = []
    attributes, blocks = declared["attributes"], declared["blocks"]
    for name in block.attributes:
        if name not in attributes and name not in _META_NAMES:
            problems.append(f"{where}: unknown attribute {name}")
    present_blocks: set[str] = set()
    for nested in block.blocks:
        if nested.kind in ("lifecycle", "provisioner", "connection"):
            continue
        name = nested.labels[0] if nested.kind == "dynamic" else nested.kind
        present_blocks.add(name)
        if name not in blocks:
            problems.append(f"{where}: unknown block {name}")
            continue
        body = nested
        if nested.kind == "dynamic":
            body = next(b for b in nested.blocks if b.kind == "content")
        problems += _body_problems(body, blocks[name]["block"], f"{where}.{name}")
    for name, attribute in attributes.items():
        if attribute["required"] and name not in block.attributes:
            problems.append(f"{where}: missing required attribute {name}")
    for name, nested in blocks.items():
        if nested["required"] and name not in present_blocks:
            problems.append(f"{where}: missing required block {name}")
    return problems


_META_NAMES = frozenset({"count", "for_each", "depends_on", "provider"})


def _where(block: Block) -> str:
    return f"{block.path.name}:{block.line}"


# Variables, outputs and versions ------------------------------------------------------


def variable_problems(module: Module) -> list[str]:
    """Report variables without a type or a full-sentence description, string inputs
    without a validation, and validations whose message does not end a sentence."""
    problems = []
    for name, block in module.variables.items():
        where = f"{_where(block)} variable {name}"
        if "type" not in block.attributes:
            problems.append(f"{where}: has no type")
        description = _literal(block, "description")
        if not description:
            problems.append(f"{where}: has no description")
        elif not description.rstrip().endswith("."):
            problems.append(f"{where}: description is not a full sentence")
        validations = [b for b in block.blocks if b.kind == "validation"]
        if (
            _text(block.attributes.get("type", "")).strip() == "string"
            and not validations
        ):
            problems.append(f"{where}: a string input has no validation")
        for validation in validations:
            message = _literal(validation, "error_message")
            if not message or not message.rstrip().endswith("."):
                problems.append(f"{where}: validation message is not a full sentence")
    return problems


def output_problems(module: Module) -> list[str]:
    """Report outputs without a description."""
    return [
        f"{_where(block)} output {block.labels[0]}: has no description"
        for block in module.of_kind("output")
        if not _literal(block, "description")
    ]


def version_problems(module: Module) -> list[str]:
    """Report a Terraform or provider constraint without both a floor and a ceiling."""
    problems = []
    terraform_blocks = module.of_kind("terraform")
    if not terraform_blocks:
        return ["no terraform block with required_version"]
    for block in terraform_blocks:
        constraint = _literal(block, "required_version") or ""
        if not _bounded(constraint):
            problems.append(f"required_version {constraint!r} needs >= and <")
        for providers in (b for b in block.blocks if b.kind == "required_providers"):
            for name, expression in providers.attributes.items():
                version = module_scope(module).evaluate(expression).get("version", "")
                if not _bounded(version):
                    problems.append(
                        f"provider {name} version {version!r} needs >= and <"
                    )
    return problems


def _bounded(constraint: str) -> bool:
    return ">=" in constraint and re.search(r"<\s*\d", constraint) is not None


def _literal(block: Block, name: str) -> Any:
    if name not in block.attributes:
        return None
    try:
        return module_scope(None).evaluate(block.attributes[name])
    except Exception:
        return None


def module_scope(module: Module | None) -> Any:
    from terraform_module import Scope

    return Scope(module)  # type: ignore[arg-type]


# Roles --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Grant:
    """One additive IAM grant, with its target and member reduced to comparable keys."""

    address: str
    resource_type: str
    target: str
    role: str
    member: str


def grants(module: Module) -> list[Grant]:
    """Every IAM member instance as a Grant."""
    target_attribute = {
        "google_storage_bucket_iam_member": "bucket",
        "google_pubsub_topic_iam_member": "topic",
        "google_pubsub_subscription_iam_member": "subscription",
        "google_secret_manager_secret_iam_member": "secret_id",
        "google_service_account_iam_member": "service_account_id",
        "google_project_iam_member": "project",
        "google_cloud_run_service_iam_member": "service",
    }
    found = []
    for instance in module.instances:
        attribute = target_attribute.get(instance.type)
        if attribute is None:
            continue
        found.append(
            Grant(
                instance.address,
                instance.type,
                identity(instance.values.get(attribute)),
                identity(instance.values.get("role")),
                member_identity(instance.values.get("member")),
            )
        )
    return found


def identity(value: Any) -> str:
    """A comparable key for a value: the resource address for a Ref, else the text."""
    if isinstance(value, Ref):
        return value.address
    if isinstance(value, Template):
        return "".join(str(part) for part in value.parts)
    return str(value)


def member_identity(value: Any) -> str:
    """The principal a member names: a resource address, or the member string."""
    if isinstance(value, Template) and value.parts[0] == "serviceAccount:":
        return identity(value.parts[1])
    if isinstance(value, Ref) and value.attribute == "member":
        return value.address
    return identity(value)


def role_problems(module: Module) -> list[str]:
    """Report authoritative IAM resources, roles outside the allow-list, service-agent
    roles held by anyone else, public members and Earth Engine permissions beyond the
    ones rendering can use."""
    problems = []
    for block in module.resources.values():
        if re.search(r"_iam_(binding|policy)$", block.labels[0]):
            problems.append(
                f"{_where(block)} {block.address}: grants must be additive "
                "(_iam_member)"
            )
    for grant in grants(module):
        problems += _grant_problems(module, grant)
    problems += _custom_role_problems(module)
    return problems


def _grant_problems(module: Module, grant: Grant) -> list[str]:
    role = grant.role
    if role.startswith("google_project_iam_custom_role."):
        if grant.resource_type != "google_project_iam_member":
            return [f"{grant.address}: custom role granted outside a project"]
        return []
    allowed = ROLE_ALLOW_LIST.get(role)
    if allowed is None:
        return [f"{grant.address}: role {role} is not in the allow-list"]
    if grant.resource_type not in allowed:
        return [
            f"{grant.address}: role {role} may not be granted by {grant.resource_type}"
        ]
    agent = SERVICE_AGENT_ROLES.get(role)
    if (
        grant.resource_type == "google_project_iam_member"
        and agent
        and grant.member != agent
    ):
        return [f"{grant.address}: project-wide {role} is for {agent} only"]
    if grant.member in PUBLIC_MEMBERS:
        return [f"{grant.address}: {grant.member} makes a function public by default"]
    return []


def _custom_role_problems(module: Module) -> list[str]:
    allowed = set(EARTH_ENGINE_CALLS.values())
    problems = []
    for instance in module.instances_of("google_project_iam_custom_role"):
        for permission in instance.values.get("permissions", []):
            if permission not in allowed:
                problems.append(
                    f"{instance.address}: permission {permission} "
                    "is not needed to render"
                )
    return problems


# Code and infrastructure agreement ----------------------------------------------------


def entry_points(main_py: Path) -> set[str]:
    """Names main.py defines or imports at module level, the functions it exports."""
    if not main_py.exists():
        return set()
    tree = ast.parse(main_py.read_text())
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.ImportFrom):
            names.update(alias.asname or alias.name for alias in node.names)
    return {name for name in names if not name.startswith("_")}


def earth_engine_permissions_used(source_dirs: Iterable[Path]) -> set[str]:
    """Permissions the Earth Engine calls found in the code's source need."""
    text = "\n".join(
        path.read_text() for directory in source_dirs for path in directory.glob("*.py")
    )
    used = {
        permission for call, permission in EARTH_ENGINE_CALLS.items() if call in text
    }
    # thumbnails.create is what the product does, whatever the code currently holds.
    return used | {"earthengine.thumbnails.create"}


def functions(module: Module) -> dict[str, Instance]:
    """Function instances keyed by their entry point."""
    return {
        instance.values["build_config"][0]["entry_point"]: instance
        for instance in module.instances_of("google_cloudfunctions2_function")
    }


def entry_point_problems(
    module: Module, exported: set[str], known: set[str]
) -> list[str]:
    """Report entry points main.py exports without a function, and functions whose
    entry point main.py lacks. ``known`` limits the first check to entry point names."""
    deployed = set(functions(module))
    problems = [
        f"main.py exports {name} but Terraform deploys no function for it"
        for name in sorted((exported & known) - deployed)
    ]
    problems += [
        f"Terraform deploys {name} but main.py has no function {name}"
        for name in sorted(deployed - exported)
    ]
    return problems


def environment_problems(module: Module, environment: Mapping[str, Any]) -> list[str]:
    """Report variables set for a function that does not read them, local-only or
    undeclared variables, secrets passed in plain text (and the reverse), and
    variables without a default that a reading function does not get."""
    problems = []
    for name, function in functions(module).items():
        service = function.values["service_config"][0]
        plain = set(service.get("environment_variables", {}))
        secret = {
            item["key"] for item in service.get("secret_environment_variables", [])
        }
        for variable in sorted(plain | secret):
            declared = environment.get(variable)
            if declared is None:
                problems.append(
                    f"{name}: {variable} is set but the code declares no such variable"
                )
                continue
            if name not in declared.functions:
                problems.append(
                    f"{name}: {variable} is set but {name} does not read it"
                )
            if declared.local_only:
                problems.append(f"{name}: {variable} is for local runs only")
            if declared.secret and variable in plain:
                problems.append(
                    f"{name}: secret {variable} is a plain environment variable"
                )
            if not declared.secret and variable in secret:
                problems.append(
                    f"{name}: {variable} comes from Secret Manager but is not secret"
                )
        for variable, declared in environment.items():
            required = name in declared.functions and declared.default is None
            if required and variable not in plain | secret:
                problems.append(f"{name}: {variable} has no default and is not set")
    return problems


def expected_runtime_grants(
    module: Module, environment: Mapping[str, Any]
) -> dict[tuple[str, str, str, str], str]:
    """Grants the code needs, as (resource type, target, role, member) with a reason."""
    expected: dict[tuple[str, str, str, str], str] = {}
    earth_engine_project = module.local("earth_engine_project_id")
    custom_roles = [
        i.address for i in module.instances_of("google_project_iam_custom_role")
    ]
    for name, function in functions(module).items():
        service = function.values["service_config"][0]
        account = identity(service["service_account_email"])
        project = "google_project_iam_member"
        for role in custom_roles + ["roles/serviceusage.serviceUsageConsumer"]:
            expected[(project, earth_engine_project, role, account)] = (
                f"{name} calls Earth Engine"
            )
        written: list[str] = []
        signers: list[str] = []
        for variable, value in service.get("environment_variables", {}).items():
            access = getattr(environment.get(variable), "access", "")
            for target in _targets(value):
                reason = f"{name} reads {variable}"
                if access == "bucket:write":
                    written.append(target)
                    expected[
                        (
                            "google_storage_bucket_iam_member",
                            target,
                            "roles/storage.objectCreator",
                            account,
                        )
                    ] = reason
                elif access == "bucket:read":
                    expected[
                        (
                            "google_storage_bucket_iam_member",
                            target,
                            "roles/storage.objectViewer",
                            account,
                        )
                    ] = reason
                elif access == "topic:publish":
                    expected[
                        (
                            "google_pubsub_topic_iam_member",
                            target,
                            "roles/pubsub.publisher",
                            account,
                        )
                    ] = reason
                elif access == "service_account:sign":
                    signers.append(target)
                    expected[
                        (
                            "google_service_account_iam_member",
                            target,
                            "roles/iam.serviceAccountTokenCreator",
                            account,
                        )
                    ] = reason
        # A signed URL acts with the signer's rights, so the signer reads what it signs.
        for signer in signers:
            for bucket in written:
                expected[
                    (
                        "google_storage_bucket_iam_member",
                        bucket,
                        "roles/storage.objectViewer",
                        signer,
                    )
                ] = f"{name} signs URLs of {bucket}"
        for item in service.get("secret_environment_variables", []):
            expected[
                (
                    "google_secret_manager_secret_iam_member",
                    item["secret"],
                    "roles/secretmanager.secretAccessor",
                    account,
                )
            ] = f"{name} reads secret {item['key']}"
        for trigger in function.values.get("event_trigger", []):
            for event_filter in trigger.get("event_filters", []):
                if event_filter["attribute"] == "bucket":
                    expected[
                        (
                            "google_storage_bucket_iam_member",
                            identity(event_filter["value"]),
                            "roles/storage.objectViewer",
                            account,
                        )
                    ] = f"{name} reads the objects that trigger it"
    return expected


def _targets(value: Any) -> list[str]:
    if isinstance(value, (Ref, Template)):
        return [identity(value)]
    return [item for item in str(value).split(",") if item]


def _topic_or_bucket_identity(grant: Grant) -> str:
    return grant.target


def runtime_grant_problems(module: Module, environment: Mapping[str, Any]) -> list[str]:
    """Report grants the code needs that are missing, and grants to a runtime account
    that nothing in the code explains."""
    expected = expected_runtime_grants(module, environment)
    accounts = {key[3] for key in expected}
    actual = {
        (grant.resource_type, grant.target, grant.role, grant.member): grant.address
        for grant in grants(module)
        if grant.member in accounts
    }
    problems = [
        f"missing grant: {role} on {target} for {member} ({reason})"
        for (kind, target, role, member), reason in sorted(expected.items())
        if (kind, target, role, member) not in actual
    ]
    problems += [
        f"{address}: grants {role} on {target} to {member}, "
        "which the code does not need"
        for (kind, target, role, member), address in sorted(actual.items())
        if (kind, target, role, member) not in expected
    ]
    return problems


def earth_engine_role_problems(module: Module, needed: set[str]) -> list[str]:
    """Report a custom Earth Engine role that differs from what the code uses."""
    problems = []
    for instance in module.instances_of("google_project_iam_custom_role"):
        granted = set(instance.values.get("permissions", []))
        for permission in sorted(needed - granted):
            problems.append(
                f"{instance.address}: lacks {permission}, which the code needs"
            )
        for permission in sorted(granted - needed):
            problems.append(
                f"{instance.address}: holds {permission}, which the code never uses"
            )
    return problems


def trigger_problems(module: Module) -> list[str]:
    """Report event functions that would lose events or reject deliveries."""
    problems = []
    event_functions: set[str] = set()
    trigger_accounts: set[str] = set()
    for name, function in functions(module).items():
        for trigger in function.values.get("event_trigger", []):
            event_functions.add(function.block.address + f'["{function.key}"]')
            if trigger.get("retry_policy") != "RETRY_POLICY_RETRY":
                problems.append(
                    f"{name}: event trigger does not retry failed deliveries"
                )
            if "service_account_email" not in trigger:
                problems.append(f"{name}: event trigger has no service account")
            else:
                trigger_accounts.add(identity(trigger["service_account_email"]))
    for subscription in module.instances_of("google_pubsub_subscription"):
        for push in subscription.values.get("push_config", []):
            for ref in iter_refs(push.get("push_endpoint")):
                if ref.address.startswith("google_cloudfunctions2_function."):
                    event_functions.add(ref.address)
            for token in push.get("oidc_token", []):
                trigger_accounts.add(identity(token["service_account_email"]))
            policy = subscription.values.get("dead_letter_policy", [])
            attempts = policy[0].get("max_delivery_attempts") if policy else None
            if not policy or not isinstance(attempts, int) or not 5 <= attempts <= 100:
                problems.append(
                    f"{subscription.address}: pushes without a bounded "
                    "dead-letter policy"
                )
    invoked = {
        (grant.target, grant.member)
        for grant in grants(module)
        if grant.role == "roles/run.invoker"
    }
    function_names = {
        f'{f.block.address}["{f.key}"]': f"{f.block.address}"
        for f in functions(module).values()
    }
    for account in sorted(trigger_accounts):
        for function in sorted(event_functions):
            if (function, account) not in invoked:
                problems.append(
                    f"{account} cannot invoke {function}: run.invoker is missing"
                )
        for target, member in sorted(invoked):
            if (
                member == account
                and target not in event_functions
                and target in function_names
            ):
                problems.append(
                    f"{account} may invoke {target}, which is not an event function"
                )
    return problems


def dependency_problems(module: Module) -> list[str]:
    """Report functions that can be created before the APIs and service-agent grants."""
    graph: dict[str, set[str]] = {}
    for instance in module.instances:
        graph.setdefault(block_address(instance.address), set()).update(
            instance.references()
        )
    problems = []
    for function in module.instances_of("google_cloudfunctions2_function"):
        reached = _reachable(graph, block_address(function.address))
        for needed in (
            "google_project_service.main",
            "google_project_service_identity.eventarc",
            "time_sleep.services",
        ):
            if needed not in reached:
                problems.append(f"{function.address}: does not wait for {needed}")
        if not any(
            address.startswith("time_sleep.") and address != "time_sleep.services"
            for address in reached
        ):
            problems.append(f"{function.address}: does not wait for IAM propagation")
    return problems


def _reachable(graph: Mapping[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    pending = [start]
    while pending:
        node = pending.pop()
        for neighbour in graph.get(node, set()):
            if neighbour not in seen:
                seen.add(neighbour)
                pending.append(neighbour)
    return seen


def service_problems(module: Module) -> list[str]:
    """Report required APIs that are not enabled or are disabled on destroy."""
    enabled = set()
    problems = []
    for instance in module.instances_of("google_project_service"):
        enabled.add(instance.values["service"])
        if instance.values.get("disable_on_destroy") is not False:
            problems.append(f"{instance.address}: set disable_on_destroy = false")
    problems += [
        f"API {name} is not enabled" for name in sorted(REQUIRED_SERVICES - enabled)
    ]
    return problems


def source_problems(module: Module, files: Iterable[str]) -> list[str]:
    """Report source archive excludes that keep test or tool files, or drop code, and
    an archive object whose name does not change with the content."""
    archives = [
        i for i in module.instances if i.address.startswith("data.archive_file.")
    ]
    if len(archives) != 1:
        return [f"expected one archive_file data source, found {len(archives)}"]
    patterns = [_glob(pattern) for pattern in archives[0].values.get("excludes", [])]
    kept = [path for path in files if not any(p.fullmatch(path) for p in patterns)]
    problems = [
        f"{path} is in the function source archive"
        for path in kept
        if path.startswith(EXCLUDED_FROM_SOURCE) or "/__pycache__/" in f"/{path}"
    ]
    problems += [
        f"{path} is left out of the source archive"
        for path in KEPT_IN_SOURCE
        if path not in kept
    ]
    problems += [
        f"recipes/ file {path} is left out of the source archive"
        for path in files
        if path.startswith("recipes/") and path not in kept
    ]
    for instance in module.instances_of("google_storage_bucket_object"):
        name = instance.values.get("name")
        hashes = [
            ref
            for ref in getattr(name, "refs", lambda: [])()
            if ref.attribute.startswith("output_")
        ]
        if not hashes:
            problems.append(
                f"{instance.address}: object name does not carry the archive hash"
            )
    return problems


def _glob(pattern: str) -> re.Pattern[str]:
    # archive_file matches excludes as doublestar globs relative to source_dir.
    regex = ""
    position = 0
    while position < len(pattern):
        if pattern.startswith("**/", position):
            regex += "(?:.*/)?"
            position += 3
        elif pattern.startswith("**", position):
            regex += ".*"
            position += 2
        elif pattern[position] == "*":
            regex += "[^/]*"
            position += 1
        else:
            regex += re.escape(pattern[position])
            position += 1
    return re.compile(regex)


def public_access_problems(module: Module) -> list[str]:
    """Report members that make anything public with the default inputs."""
    return [
        f"{grant.address}: {grant.member} is granted without public_access"
        for grant in grants(module)
        if grant.member in PUBLIC_MEMBERS
    ]


# checkov ------------------------------------------------------------------------------


def checkov_problems(directory: Path, config: Path) -> list[str]:
    """Run checkov offline on a directory and report failed checks and bare skips."""
    problems = [
        f"{path.name}: {line.strip()} gives no reason"
        for path in sorted(directory.glob("*.tf"))
        for line in path.read_text().splitlines()
        if "checkov:skip=" in line and not re.search(r"checkov:skip=\w+:\S", line)
    ]
    # checkov keeps a cache under HOME, so it gets a throwaway one.
    with tempfile.TemporaryDirectory() as home:
        completed = subprocess.run(
            [
                str(Path(sys.executable).with_name("checkov")),
                "--config-file",
                str(config),
                "--directory",
                str(directory),
                "--output",
                "json",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            env={"BC_SKIP_MAPPING": "TRUE", "PATH": "/usr/bin:/bin", "HOME": home},
        )
    report = json.loads(completed.stdout or "{}")
    results = report.get("results", {}) if isinstance(report, dict) else {}
    for failed in results.get("failed_checks", []):
        problems.append(
            f"{failed['check_id']} {failed['check_name']}: {failed['resource']} "
            f"({failed['file_path']}:{failed['file_line_range'][0]})"
        )
    if completed.returncode not in (0, 1) or not isinstance(report, dict):
        problems.append(f"checkov failed to run: {completed.stderr[-2000:]}")
    return problems
