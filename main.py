"""Cloud Functions entry points. Each one hands its trigger to a module in handlers/.

Every deployed function loads this file, so each entry point imports only its own
handler, when first called: the chat handlers, say, never slow a render function's
cold start.
"""

import flask
import functions_framework
from cloudevents.http import CloudEvent


@functions_framework.http
def render_http(request: flask.Request) -> flask.Response:
    """Render over HTTP: redirect to the pixels, or store them in Cloud Storage."""
    from handlers import http

    return http.handle(request)


@functions_framework.cloud_event
def render_pubsub(event: CloudEvent) -> None:
    """Render a request published to the request topic into Cloud Storage."""
    from handlers import pubsub

    pubsub.handle(event)


@functions_framework.cloud_event
def render_storage(event: CloudEvent) -> None:
    """Render request files and GeoTIFF previews uploaded to the watched bucket."""
    from handlers import upload

    upload.handle(event)


@functions_framework.http
def chat_google(request: flask.Request) -> flask.Response:
    """Reply to Google Chat events with rendered recipes."""
    from handlers import chat

    return chat.handle(request)


@functions_framework.http
def chat_slack(request: flask.Request) -> flask.Response:
    """Acknowledge the Slack /render command, then post its images."""
    from handlers import slack

    return slack.handle(request)
