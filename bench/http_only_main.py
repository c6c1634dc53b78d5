"""render_http with only the HTTP handler imported, for the cold-start benchmark.

    functions-framework --source bench/http_only_main.py --target render_http

main.py imports the handlers of every trigger at module level, so each function's
cold start pays for the other triggers' imports too. This source serves the same
``render_http`` without them, to measure what importing each handler on first use
would save.
"""

from __future__ import annotations

import flask
import functions_framework

from handlers import http


@functions_framework.http
def render_http(request: flask.Request) -> flask.Response:
    """Render over HTTP: redirect to the pixels, or store them in Cloud Storage."""
    return http.handle(request)
