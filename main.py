"""Cloud Functions entry points. Each one hands its trigger to a module in handlers/."""

import flask
import functions_framework
from cloudevents.http import CloudEvent

from handlers import chat, http, pubsub, slack, upload


@functions_framework.http
def render_http(request: flask.Request) -> flask.Response:
    """Render over HTTP: redirect to the pixels, or store them in Cloud Storage."""
    return http.handle(request)


@functions_framework.cloud_event
def render_pubsub(event: CloudEvent) -> None:
    """Render a request published to the request topic into Cloud Storage."""
    pubsub.handle(event)


@functions_framework.cloud_event
def render_storage(event: CloudEvent) -> None:
    """Render request files and GeoTIFF previews uploaded to the watched bucket."""
    upload.handle(event)


@functions_framework.http
def chat_google(request: flask.Request) -> flask.Response:
    """Answer Google Chat events with rendered recipes."""
    return chat.handle(request)


@functions_framework.http
def chat_slack(request: flask.Request) -> flask.Response:
    """Answer the Slack /render command and post its images."""
    return slack.handle(request)
