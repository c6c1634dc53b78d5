"""The cold-start floor: a function that redirects without calling anything.

    functions-framework --source bench/framework_floor.py --target redirect_only

Its start is what every Python function served by functions-framework pays (the
interpreter, functions-framework, Flask and gunicorn), so subtracting it from a
function's cold start leaves what that function's own code adds.
"""

from __future__ import annotations

from http import HTTPStatus

import flask
import functions_framework

PIXEL_URL = "http://127.0.0.1:9/thumbnails/floor:getPixels"


@functions_framework.http
def redirect_only(request: flask.Request) -> flask.Response:
    """Redirect to a fixed URL after reading the JSON body, as the others do."""
    request.get_json()
    response = flask.Response(status=HTTPStatus.FOUND)
    response.headers["Location"] = PIXEL_URL
    return response
