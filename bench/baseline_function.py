"""The cold-start baseline: the redirect job written with the official client.

    functions-framework --source bench/baseline_function.py --target render_baseline

It takes the same JSON render request as ``render_http`` (an Expression graph plus
``getThumbURL`` parameters), decodes the graph with ``ee.deserializer``, calls
``ee.Image.getThumbURL`` and redirects to the pixel URL. ``ee.Initialize`` runs at
import, as most functions built on the client do, against EE_API_URL with the bearer
token in EE_STATIC_TOKEN.
"""

from __future__ import annotations

import os
from http import HTTPStatus

import ee
import flask
import functions_framework
import google.oauth2.credentials

# The client fetches a deprecated-asset catalog from Cloud Storage while it
# initializes. This machine reaches no Google host, so the fetch is skipped here;
# a deployed baseline pays for it as well, so the baseline measured is a little
# faster than a real one.
ee.deprecation._FetchDataCatalogStac = lambda: {}
ee.Initialize(
    credentials=google.oauth2.credentials.Credentials(  # type: ignore[no-untyped-call]
        token=os.environ["EE_STATIC_TOKEN"]
    ),
    url=os.environ["EE_API_URL"],
    project=os.environ["EE_PROJECT"],
)

THUMBNAIL_PARAMETERS = ("region", "dimensions", "min", "max", "palette", "format")


@functions_framework.http
def render_baseline(request: flask.Request) -> flask.Response:
    """Redirect to the pixels of the JSON render request in the body."""
    data = request.get_json()
    image = ee.Image(ee.deserializer.decodeCloudApi(data["expression"]))
    parameters = {key: data[key] for key in THUMBNAIL_PARAMETERS if key in data}
    response = flask.Response(status=HTTPStatus.FOUND)
    response.headers["Location"] = image.getThumbURL(parameters)
    return response
