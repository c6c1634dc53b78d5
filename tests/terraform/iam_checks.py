"""Checks of the grants: additive, allow-listed and needed by the code that runs.

Each check returns a list of problems, empty when it passes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from code_checks import CodeFacts, functions
from hcl_expression import Ref, Template
from schema_checks import location
from terraform_module import Module, iter_refs

# Roles the configuration may grant, and the IAM resource types that may grant each.
# Anything else, including basic roles, project-wide storage roles and the Earth Engine
# writer, admin and viewer roles, is reported.
ROLE_ALLOW_LIST: dict[str, frozenset[str]] = {
    "roles/storage.objectCreator": frozenset({"google_storage_bucket_iam_member"}),
    "roles/storage.objectViewer": frozenset({"google_storage_bucket_iam_member"}),
    # storage.buckets.get, which Earth Engine's Image.loadGeoTIFF needs.
    "roles/storage.legacyBucketReader": frozenset({"google_storage_bucket_iam_member"}),
    # Object deletes, for claims only (CONDITIONED_ROLES).
    "roles/storage.objectUser": frozenset({"google_storage_bucket_iam_member"}),
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


# Roles that may only be granted under an IAM condition, because unconditioned they
# would let a function delete every object of the bucket.
CONDITIONED_ROLES = frozenset({"roles/storage.objectUser"})


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
    # The IAM condition's expression, empty for an unconditioned grant.
    condition: str = ""


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
                condition_expression(instance.values.get("condition", [])),
            )
        )
    return found


def condition_expression(blocks: list[dict[str, Any]]) -> str:
    """The expression of a grant's condition block, or "" without one."""
    return identity(blocks[0].get("expression", "")) if blocks else ""


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
    if grant.member in PUBLIC_MEMBERS and grant.target not in public_functions(module):
        return [f"{grant.address}: {grant.member} is granted without public_access"]
    if role in CONDITIONED_ROLES and not grant.condition:
        return [f"{grant.address}: {role} is granted without a condition"]
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


def public_functions(module: Module) -> set[str]:
    """Function addresses that var.public_access lets everyone invoke."""
    return {
        f'google_cloudfunctions2_function.main["{name}"]'
        for name in module.variable("public_access")["functions"]
    }


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


# A grant as compared by the cross-check: resource type, target, role, member and the
# condition's expression ("" for none).
GrantKey = tuple[str, str, str, str, str]

BUCKET_GRANT = "google_storage_bucket_iam_member"


def expected_runtime_grants(
    module: Module, environment: Mapping[str, Any], code: CodeFacts
) -> dict[GrantKey, str]:
    """Grants the code needs, each with the reason."""
    expected: dict[GrantKey, str] = {}
    earth_engine_project = module.local("earth_engine_project_id")
    custom_roles = [
        i.address for i in module.instances_of("google_project_iam_custom_role")
    ]
    for name, function in functions(module).items():
        service = function.values["service_config"][0]
        account = identity(service["service_account_email"])
        project = "google_project_iam_member"
        for role in custom_roles + ["roles/serviceusage.serviceUsageConsumer"]:
            expected[(project, earth_engine_project, role, account, "")] = (
                f"{name} calls Earth Engine"
            )
        expected.update(_environment_grants(name, service, account, environment))
        expected.update(_claim_grants(name, service, account, environment, code))
        for item in service.get("secret_environment_variables", []):
            key = (
                "google_secret_manager_secret_iam_member",
                item["secret"],
                "roles/secretmanager.secretAccessor",
                account,
                "",
            )
            expected[key] = f"{name} reads secret {item['key']}"
        expected.update(_trigger_bucket_grants(name, function, account, code))
    return expected


def _environment_grants(
    name: str, service: Mapping[str, Any], account: str, environment: Mapping[str, Any]
) -> dict[GrantKey, str]:
    """Grants for what the function's variables name, by their declared access."""
    expected: dict[GrantKey, str] = {}
    written: list[str] = []
    signers: list[str] = []
    for variable, value in service.get("environment_variables", {}).items():
        access = getattr(environment.get(variable), "access", "")
        for target in _targets(value):
            reason = f"{name} reads {variable}"
            if access == "bucket:write":
                # A render is looked up before it is written, and batches list and
                # read their item records.
                written.append(target)
                for role in ("objectCreator", "objectViewer"):
                    key = (BUCKET_GRANT, target, f"roles/storage.{role}", account, "")
                    expected[key] = reason
            elif access == "bucket:read":
                key = (BUCKET_GRANT, target, "roles/storage.objectViewer", account, "")
                expected[key] = reason
            elif access == "topic:publish":
                key = (
                    "google_pubsub_topic_iam_member",
                    target,
                    "roles/pubsub.publisher",
                    account,
                    "",
                )
                expected[key] = reason
            elif access == "service_account:sign":
                signers.append(target)
                key = (
                    "google_service_account_iam_member",
                    target,
                    "roles/iam.serviceAccountTokenCreator",
                    account,
                    "",
                )
                expected[key] = reason
    # A signed URL acts with the signer's rights, so the signer reads what it signs.
    for signer in signers:
        for bucket in written:
            key = (BUCKET_GRANT, bucket, "roles/storage.objectViewer", signer, "")
            expected[key] = f"{name} signs URLs of {bucket}"
    return expected


def claims_condition(bucket: Any, prefix: str) -> str:
    """The IAM condition that limits a grant to objects under ``prefix``."""
    return f'resource.name.startsWith("projects/_/buckets/{bucket}/objects/{prefix}")'


def claims_prefix(
    variables: Mapping[str, Any], environment: Mapping[str, Any], code: CodeFacts
) -> str:
    """Where a chat function keeps its claims: RENDER_OBJECT_PREFIX + claims folder."""
    object_prefix = variables.get(
        "RENDER_OBJECT_PREFIX", environment["RENDER_OBJECT_PREFIX"].default
    )
    return f"{object_prefix}{code.claims_folder}"


def _claim_grants(
    name: str,
    service: Mapping[str, Any],
    account: str,
    environment: Mapping[str, Any],
    code: CodeFacts,
) -> dict[GrantKey, str]:
    """The chat apps delete their claims in RENDER_BUCKET (eerender/command_claims.py);
    creating and reading them is covered by the bucket:write grants."""
    bucket = service.get("environment_variables", {}).get("RENDER_BUCKET")
    if name not in code.chat_apps or bucket is None:
        return {}
    variables = service.get("environment_variables", {})
    condition = claims_condition(bucket, claims_prefix(variables, environment, code))
    key = (BUCKET_GRANT, identity(bucket), "roles/storage.objectUser", account, "")
    return {key[:4] + (condition,): f"{name} deletes its command and reply claims"}


def _trigger_bucket_grants(
    name: str, function: Any, account: str, code: CodeFacts
) -> dict[GrantKey, str]:
    """Read rights on the bucket whose objects trigger the function."""
    expected: dict[GrantKey, str] = {}
    for trigger in function.values.get("event_trigger", []):
        for event_filter in trigger.get("event_filters", []):
            if event_filter["attribute"] != "bucket":
                continue
            bucket = identity(event_filter["value"])
            key = (BUCKET_GRANT, bucket, "roles/storage.objectViewer", account, "")
            expected[key] = f"{name} reads the objects that trigger it"
            if name in code.geotiff_readers:
                # Image.loadGeoTIFF needs storage.buckets.get on the bucket.
                role = "roles/storage.legacyBucketReader"
                expected[(BUCKET_GRANT, bucket, role, account, "")] = (
                    f"{name} has Earth Engine load the GeoTIFFs uploaded to {bucket}"
                )
    return expected


def _targets(value: Any) -> list[str]:
    if isinstance(value, (Ref, Template)):
        return [identity(value)]
    return [item for item in str(value).split(",") if item]


def runtime_grant_problems(
    module: Module, environment: Mapping[str, Any], code: CodeFacts
) -> list[str]:
    """Report grants the code needs that are missing, and grants to a runtime account
    that nothing in the code explains."""
    expected = expected_runtime_grants(module, environment, code)
    accounts = {key[3] for key in expected}
    actual = {
        (g.resource_type, g.target, g.role, g.member, g.condition): g.address
        for g in grants(module)
        if g.member in accounts
    }
    problems = [
        f"missing grant: {role} on {target} for {member}{_when(condition)} ({reason})"
        for (kind, target, role, member, condition), reason in sorted(expected.items())
        if (kind, target, role, member, condition) not in actual
    ]
    problems += [
        f"{address}: grants {role} on {target} to {member}{_when(condition)}, "
        "which the code does not need"
        for (kind, target, role, member, condition), address in sorted(actual.items())
        if (kind, target, role, member, condition) not in expected
    ]
    return problems


def _when(condition: str) -> str:
    return f" when {condition}" if condition else ""


@dataclass(frozen=True)
class Delivery:
    """A platform delivery to a function: an event trigger or a push subscription."""

    source: str
    function: str
    account: str


def deliveries(module: Module) -> list[Delivery]:
    """Every event trigger and push subscription that calls a function."""
    found = []
    for name, function in functions(module).items():
        address = f'{function.block.address}["{function.key}"]'
        for trigger in function.values.get("event_trigger", []):
            account = identity(trigger.get("service_account_email", ""))
            found.append(Delivery(f"{name} event trigger", address, account))
    for subscription in module.instances_of("google_pubsub_subscription"):
        for push in subscription.values.get("push_config", []):
            targets = [
                ref.address
                for ref in iter_refs(push.get("push_endpoint"))
                if ref.address.startswith("google_cloudfunctions2_function.")
            ]
            for token in push.get("oidc_token", []):
                account = identity(token["service_account_email"])
                found += [Delivery(subscription.address, f, account) for f in targets]
    return found


def trigger_problems(module: Module) -> list[str]:
    """Report deliveries that would lose events, retry forever or be rejected, and
    delivery accounts that may invoke functions they deliver nothing to."""
    problems = []
    for name, function in functions(module).items():
        for trigger in function.values.get("event_trigger", []):
            if trigger.get("retry_policy") != "RETRY_POLICY_RETRY":
                problems.append(
                    f"{name}: event trigger does not retry failed deliveries"
                )
            if "service_account_email" not in trigger:
                problems.append(f"{name}: event trigger has no service account")
    for subscription in module.instances_of("google_pubsub_subscription"):
        if subscription.values.get("push_config"):
            problems += _push_bound_problems(subscription)

    invoked = {
        (grant.target, grant.member)
        for grant in grants(module)
        if grant.role == "roles/run.invoker"
    }
    public = public_functions(module)
    found = deliveries(module)
    for delivery in found:
        if delivery.function not in public and (
            (delivery.function, delivery.account) not in invoked
        ):
            problems.append(
                f"{delivery.account} cannot invoke {delivery.function} for "
                f"{delivery.source}: run.invoker is missing"
            )
    delivered = {(d.function, d.account) for d in found}
    accounts = {d.account for d in found}
    problems += [
        f"{member} may invoke {target}, which it delivers nothing to"
        for target, member in sorted(invoked)
        if member in accounts and (target, member) not in delivered
    ]
    return problems


# The longest message retention that bounds a push subscription without a dead-letter
# topic: results are worth posting for minutes, and reply claims last a day.
MAX_UNDEAD_RETENTION_SECONDS = 86400


def _push_bound_problems(subscription: Any) -> list[str]:
    """A push subscription must end each message's deliveries: by dead-lettering it
    after 5 to 100 attempts, or by dropping it after at most a day."""
    policy = subscription.values.get("dead_letter_policy", [])
    attempts = policy[0].get("max_delivery_attempts") if policy else None
    if policy and isinstance(attempts, int) and 5 <= attempts <= 100:
        return []
    retention = str(subscription.values.get("message_retention_duration", "604800s"))
    seconds = int(retention[:-1]) if re.fullmatch(r"\d+s", retention) else None
    if policy or seconds is None or seconds > MAX_UNDEAD_RETENTION_SECONDS:
        return [
            f"{subscription.address}: pushes without a bounded dead-letter policy "
            "or a retention of at most one day"
        ]
    return []
