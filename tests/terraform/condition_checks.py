"""Evaluation of the conditions Terraform checks at plan time: variable validations,
resource preconditions and check blocks.

``terraform plan`` stops on a failed validation or precondition and warns on a failed
check assertion. Each function here returns the failures for the module's inputs,
keyed by where the condition is, with its error message.
"""

from __future__ import annotations

from hcl_expression import UNKNOWN_TYPES, Scope
from terraform_module import Block, Module


def failed_validations(module: Module) -> dict[str, str]:
    """Return ``variable NAME #i`` -> message of each validation the inputs fail."""
    failed = {}
    for name, variable in module.variables.items():
        validations = [b for b in variable.blocks if b.kind == "validation"]
        for index, validation in enumerate(validations, start=1):
            message = _failure(validation, Scope(module))
            if message is not None:
                failed[f"variable {name} #{index}"] = message
    return failed


def failed_preconditions(module: Module) -> dict[str, str]:
    """Return ``ADDRESS precondition #i`` -> message of each failed precondition.

    Conditions are evaluated per instance, with each.key and each.value bound, and
    reported once per resource block.
    """
    failed = {}
    for block in module.resources.values():
        preconditions = [
            condition
            for lifecycle in block.blocks
            if lifecycle.kind == "lifecycle"
            for condition in lifecycle.blocks
            if condition.kind == "precondition"
        ]
        if not preconditions:
            continue
        for instance in module.expand(block):
            scope = Scope(module, each=(instance.key, instance.each_value))
            for index, precondition in enumerate(preconditions, start=1):
                message = _failure(precondition, scope)
                if message is not None:
                    failed[f"{block.address} precondition #{index}"] = message
    return failed


def failed_checks(module: Module) -> dict[str, str]:
    """Return ``check.NAME`` -> message of each check block whose assertion fails."""
    failed = {}
    for block in module.of_kind("check"):
        for assertion in (b for b in block.blocks if b.kind == "assert"):
            message = _failure(assertion, Scope(module))
            if message is not None:
                failed[f"check.{block.labels[0]}"] = message
    return failed


def _failure(block: Block, scope: Scope) -> str | None:
    """Return the error message when the block's condition is false, else None.

    A condition that depends on values known only after apply is left to Terraform.
    """
    outcome = scope.evaluate(block.attributes["condition"])
    if isinstance(outcome, UNKNOWN_TYPES) or outcome:
        return None
    return str(scope.evaluate(block.attributes["error_message"]))
