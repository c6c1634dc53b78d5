"""The formatter, the linter and the type checker pass over the whole tree."""

from __future__ import annotations

import subprocess
import sys

from local import stack


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *command],
        cwd=stack.ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_ruff_lint_passes() -> None:
    result = run("ruff", "check", ".")

    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_passes() -> None:
    result = run("ruff", "format", "--check", ".")

    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_passes() -> None:
    result = run("mypy")

    assert result.returncode == 0, result.stdout + result.stderr
