"""Cloud Functions entry points. Each one hands its trigger to a module in handlers/."""

import flask
import functions_framework

from handlers import http


@functions_framework.http
def render_http(request: flask.Request) -> flask.Response:
    """Render over HTTP: redirect to the pixels, or store them in Cloud Storage."""
    return http.handle(request)
