"""Schemathesis over the running HTTP function against docs/openapi.yaml.

FUZZ_EXAMPLES sets the cases per operation and generation mode (default 50, which
keeps this file within a few seconds); bench/fuzz_http.py runs thousands.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from local import stack
from tests.abuse import fuzzing

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "50"))


@pytest.mark.parametrize("target", fuzzing.targets(), ids=fuzzing.target_id)
def test_generated_requests(live: stack.Stack, target: tuple[Any, Any]) -> None:
    operation, mode = target
    report = fuzzing.FuzzReport()

    fuzzing.fuzz(operation, mode, live, EXAMPLES, report)

    assert report.cases > 0
    assert not any(status >= 500 for status in report.statuses), report.statuses
