"""Checks of the grants: additive, allow-listed and needed by the code that runs.

Each check returns a list of problems, empty when it passes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from code_checks import functions
from hcl_expression import Ref, Template
from schema_checks import location
from terraform_module import Module, iter_refs

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
                f"{location(block)} {block.address}: grants must be additive "
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


def public_access_problems(module: Module) -> list[str]:
    """Report members that make anything public with the default inputs."""
    return [
        f"{grant.address}: {grant.member} is granted without public_access"
        for grant in grants(module)
        if grant.member in PUBLIC_MEMBERS
    ]


def earth_engine_permissions_used(source_dirs: Iterable[Path]) -> set[str]:
    """Return the permissions of the Earth Engine calls found in the source."""
    text = "\n".join(
        path.read_text() for directory in source_dirs for path in directory.glob("*.py")
    )
    used = {
        permission for call, permission in EARTH_ENGINE_CALLS.items() if call in text
    }
    # Creating thumbnails is the product, so it is needed even before the code exists.
    return used | {"earthengine.thumbnails.create"}


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
