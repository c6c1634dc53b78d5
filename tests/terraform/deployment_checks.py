"""Checks of how the configuration deploys: APIs, ordering, source archive, checkov.

Each check returns a list of problems, empty when it passes.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from terraform_module import Module, block_address

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
        # chat_google posts through the Chat API.
        "chat",
        # data.google_project reads the project number for the functions' URLs.
        "cloudresourcemanager",
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
