"""The HTTP function's fixtures, shared with the abuse tests, plus what they count."""

from __future__ import annotations

from typing import Any

from tests.http.conftest import client, make_client, standin_control, stats

__all__ = ["client", "ee_calls", "make_client", "standin_control"]


def ee_calls(ee_url: str) -> int:
    """Return how many Earth Engine API calls the stand-in has received."""
    counts: dict[str, Any] = stats(ee_url)["requests"]
    return sum(counts.values())
