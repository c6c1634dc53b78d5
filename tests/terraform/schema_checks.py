"""Checks of the Terraform files themselves: syntax, provider schema and style.

Each check returns a list of problems, empty when it passes, so a test can assert
both that the configuration passes and that a planted mistake is reported.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import hcl2
from hcl_expression import Scope
from lark import Token, Tree
from provider_schema import META_ARGUMENTS
from terraform_module import Block, Module, block_address, iter_refs

PROVIDER_OF_PREFIX = {
    "google": "hashicorp/google",
    "archive": "hashicorp/archive",
    "time": "hashicorp/time",
}


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
                f"{location(block)}: {source} has no {block.kind} {type_name}"
            )
            continue
        problems += _body_problems(
            block, declared, f"{location(block)} {block.address}"
        )
    return problems


def reference_problems(module: Module, schemas: Mapping[str, Any]) -> list[str]:
    """Report expressions that read an attribute the referenced resource lacks."""
    found: set[tuple[str, str]] = set()
    for instance in module.instances:
        found.update(
            (ref.address, ref.attribute)
            for ref in iter_refs([instance.values, instance.depends_on])
        )
    for output in module.of_kind("output"):
        value = Scope(module).evaluate(output.attributes["value"])
        found.update((ref.address, ref.attribute) for ref in iter_refs(value))

    problems = []
    for address, attribute in sorted(found):
        block = module.resources[block_address(address)]
        kind = "data" if block.kind == "data" else "resources"
        declared = schemas[_provider_source(block)][kind][block.labels[0]]
        missing = _unreadable(declared, re.sub(r"\[[^]]*\]", "", attribute))
        if missing:
            problems.append(
                f"{address}.{attribute}: {block.labels[0]} has no {missing}"
            )
    return problems


def _unreadable(declared: Mapping[str, Any], path: str) -> str | None:
    for name in [part for part in path.split(".") if part]:
        if name not in declared["computed"]:
            return name
        nested = declared["blocks"].get(name)
        if nested is None:
            return None  # a plain attribute, such as a map, ends the schema path
        declared = nested["block"]
    return None


def _provider_source(block: Block) -> str:
    if "provider" in block.attributes:
        provider = _text(block.attributes["provider"])
        if provider.startswith("google-beta"):
            return "hashicorp/google-beta"
    return PROVIDER_OF_PREFIX[block.labels[0].split("_", 1)[0]]


def _text(node: Any) -> str:

    if isinstance(node, Token):
        return str(node)
    if isinstance(node, Tree):
        return "".join(_text(child) for child in node.children)
    return str(node)


def _body_problems(block: Block, declared: Mapping[str, Any], where: str) -> list[str]:
    problems = []
    attributes, blocks = declared["attributes"], declared["blocks"]
    for name in block.attributes:
        if name not in attributes and name not in META_ARGUMENTS:
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


def location(block: Block) -> str:
    return f"{block.path.name}:{block.line}"


def variable_problems(module: Module) -> list[str]:
    """Report variables without a type or a full-sentence description, string inputs
    without a validation, and validations whose message does not end a sentence."""
    problems = []
    for name, block in module.variables.items():
        where = f"{location(block)} variable {name}"
        if "type" not in block.attributes:
            problems.append(f"{where}: has no type")
        description = literal(module, block, "description")
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
            message = literal(module, validation, "error_message")
            if not message or not message.rstrip().endswith("."):
                problems.append(f"{where}: validation message is not a full sentence")
    return problems


def output_problems(module: Module) -> list[str]:
    """Report outputs without a description."""
    return [
        f"{location(block)} output {block.labels[0]}: has no description"
        for block in module.of_kind("output")
        if not literal(module, block, "description")
    ]


def version_problems(module: Module) -> list[str]:
    """Report a Terraform or provider constraint without both a floor and a ceiling."""
    problems = []
    terraform_blocks = module.of_kind("terraform")
    if not terraform_blocks:
        return ["no terraform block with required_version"]
    for block in terraform_blocks:
        constraint = literal(module, block, "required_version") or ""
        if not _bounded(constraint):
            problems.append(f"required_version {constraint!r} needs >= and <")
        for providers in (b for b in block.blocks if b.kind == "required_providers"):
            for name, expression in providers.attributes.items():
                version = Scope(module).evaluate(expression).get("version", "")
                if not _bounded(version):
                    problems.append(
                        f"provider {name} version {version!r} needs >= and <"
                    )
    return problems


def _bounded(constraint: str) -> bool:
    return ">=" in constraint and re.search(r"<\s*\d", constraint) is not None


def literal(module: Module, block: Block, name: str) -> Any:
    """Evaluate one attribute of a block, or return None when it is absent."""
    if name not in block.attributes:
        return None
    return Scope(module).evaluate(block.attributes[name])
