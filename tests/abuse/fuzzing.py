"""Schemathesis cases from docs/openapi.yaml, sent to a running HTTP function.

Shared by the test suite (few examples) and bench/fuzz_http.py (many). A case passes
when the function responds without a 5xx, with a status and body the description
lists, and when a rejected request wrote no object.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from local import stack

SPEC = stack.ROOT / "docs" / "openapi.yaml"
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)


def operations() -> list[Any]:
    """Return every operation of the published description."""
    schema = schemathesis.openapi.from_path(SPEC)
    return [result.ok() for result in schema.get_all_operations()]


def targets() -> list[tuple[Any, GenerationMode]]:
    """Return each operation with each generation mode that can make inputs for it.

    An operation without parameters or body, such as GET /health, has no invalid
    input, so it is only sent as it is.
    """
    pairs = []
    for operation in operations():
        has_input = bool(list(operation.iter_parameters()) or len(operation.body))
        for mode in MODES:
            if has_input or mode is GenerationMode.POSITIVE:
                pairs.append((operation, mode))
    return pairs


def target_id(target: tuple[Any, GenerationMode]) -> str:
    operation, mode = target
    return f"{operation.method.upper()} {operation.path} {mode.value}"


@dataclass
class FuzzReport:
    """The statuses of the responses to the generated cases, and the failures."""

    statuses: collections.Counter[int] = field(default_factory=collections.Counter)
    failures: list[str] = field(default_factory=list)

    @property
    def cases(self) -> int:
        return sum(self.statuses.values())


def object_count(gcs_url: str) -> int:
    listing = requests.get(
        f"{gcs_url}/storage/v1/b/{stack.RENDER_BUCKET}/o", timeout=10
    )
    listing.raise_for_status()
    return len(listing.json().get("items", []))


def send(case: Any, running: stack.Stack, report: FuzzReport) -> None:
    """Send one case and check the response; raise AssertionError on a failure."""
    before = object_count(running.gcs_url)
    response = case.call(
        base_url=running.function_url, allow_redirects=False, timeout=60
    )
    report.statuses[response.status_code] += 1
    case.validate_response(response, checks=CHECKS)
    if response.status_code >= 400:
        written = object_count(running.gcs_url) - before
        assert written == 0, f"{written} object(s) written for a {response.status_code}"


def fuzz(
    operation: Any,
    mode: GenerationMode,
    running: stack.Stack,
    examples: int,
    report: FuzzReport,
    on_failure: Callable[[Any, Exception], None] | None = None,
) -> None:
    """Run ``examples`` generated cases of ``operation`` against ``running``.

    Without ``on_failure`` the first failing case is shrunk and raised, as in a test.
    With it, each failure is passed on and the run continues.
    """

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        try:
            send(case, running, report)
        except Exception as error:  # an assertion, or a failure group of the checks
            if on_failure is None:
                raise
            on_failure(case, error)

    run()
