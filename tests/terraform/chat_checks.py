"""Checks that results reach the chat apps as their code expects, and that the apps'
claims are deleted.

Each check returns a list of problems, empty when it passes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from code_checks import CodeFacts, functions
from hcl_expression import Template
from iam_checks import claims_prefix, identity
from terraform_module import Instance, Module, iter_refs


def chat_result_problems(
    module: Module, environment: Mapping[str, Any], code: CodeFacts
) -> list[str]:
    """Report a chat function that does not get exactly one push subscription on the
    results topic, at its results path, with the token audience and account that
    the code checks (PUSH_AUDIENCE, PUSH_SERVICE_ACCOUNT) and, if filtered, the
    filter on its reply app attribute."""
    deployed = functions(module)
    results_topics = {
        identity(_variables(function).get("RESULTS_TOPIC"))
        for function in deployed.values()
        if "RESULTS_TOPIC" in _variables(function)
    }
    problems = []
    for name, app in sorted(code.chat_apps.items()):
        function = deployed.get(name)
        if function is None:
            continue
        address = f'{function.block.address}["{function.key}"]'
        pushes = [
            (subscription, push)
            for subscription in module.instances_of("google_pubsub_subscription")
            for push in subscription.values.get("push_config", [])
            if address in {ref.address for ref in iter_refs(push.get("push_endpoint"))}
        ]
        if len(pushes) != 1:
            problems.append(
                f"{name}: {len(pushes)} push subscriptions deliver to it; its results "
                "need exactly one"
            )
        for subscription, push in pushes:
            problems += _push_problems(
                name, app, subscription, push, _variables(function), code
            )
            topic = identity(subscription.values.get("topic"))
            if topic not in results_topics:
                problems.append(
                    f"{subscription.address}: reads {topic}, not the RESULTS_TOPIC "
                    "that the event functions announce on"
                )
    return problems


def _push_problems(
    name: str,
    app: str,
    subscription: Instance,
    push: Mapping[str, Any],
    variables: Mapping[str, Any],
    code: CodeFacts,
) -> list[str]:
    problems = []
    where = subscription.address
    endpoint = push.get("push_endpoint")
    if not (isinstance(endpoint, Template) and endpoint.parts[-1] == code.results_path):
        problems.append(
            f"{where}: pushes to {endpoint}, not {name}'s {code.results_path}"
        )
    tokens = push.get("oidc_token", [])
    if not tokens:
        problems.append(f"{where}: pushes without an ID token, which {name} rejects")
    for token in tokens:
        audience = identity(token.get("audience"))
        if audience != identity(variables.get("PUSH_AUDIENCE")):
            problems.append(
                f"{where}: token audience {audience} is not {name}'s PUSH_AUDIENCE"
            )
        account = identity(token.get("service_account_email"))
        if account != identity(variables.get("PUSH_SERVICE_ACCOUNT")):
            problems.append(
                f"{where}: token account {account} is not {name}'s PUSH_SERVICE_ACCOUNT"
            )
    expected_filter = f'attributes.{code.app_attribute} = "{app}"'
    actual_filter = subscription.values.get("filter")
    if actual_filter is not None and actual_filter != expected_filter:
        problems.append(
            f"{where}: filter {actual_filter!r} is not {expected_filter!r}, so {name} "
            "misses its own results"
        )
    return problems


def claim_lifecycle_problems(
    module: Module, environment: Mapping[str, Any], code: CodeFacts
) -> list[str]:
    """Report a render bucket that keeps the chat apps' claims longer than a day."""
    buckets = {
        instance.address: instance
        for instance in module.instances_of("google_storage_bucket")
    }
    problems = []
    for name, function in sorted(functions(module).items()):
        if name not in code.chat_apps:
            continue
        variables = _variables(function)
        bucket = buckets.get(identity(variables.get("RENDER_BUCKET")))
        if bucket is None:
            continue
        prefix = claims_prefix(variables, environment, code)
        if not any(_deletes_after_a_day(rule, prefix) for rule in _rules(bucket)):
            problems.append(
                f"{bucket.address}: no lifecycle rule deletes {name}'s claims "
                f"under {prefix} after a day"
            )
    return sorted(set(problems))


def _rules(bucket: Instance) -> list[dict[str, Any]]:
    return list(bucket.values.get("lifecycle_rule", []))


def _deletes_after_a_day(rule: Mapping[str, Any], prefix: str) -> bool:
    action = (rule.get("action") or [{}])[0]
    condition = (rule.get("condition") or [{}])[0]
    return (
        action.get("type") == "Delete"
        and condition.get("age") == 1
        and condition.get("matches_prefix") == [prefix]
    )


def _variables(function: Instance) -> dict[str, Any]:
    service = function.values["service_config"][0]
    return dict(service.get("environment_variables", {}))
