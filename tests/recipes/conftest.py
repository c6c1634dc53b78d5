"""The HTTP function's fixtures, for rendering recipes on the stand-ins."""

from __future__ import annotations

from tests.http.conftest import client, make_client, standin_control

__all__ = ["client", "make_client", "standin_control"]
