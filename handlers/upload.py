"""The Cloud Storage trigger: render request files and previews of uploaded GeoTIFFs.

An object finalized in the watched bucket is one of:

- a render request file: JSON under REQUEST_PREFIX (default ``requests/``), rendered
  into RENDER_BUCKET under the request's canonical name, as the other triggers do;
- a GeoTIFF (``.tif``, ``.tiff`` or an ``image/tiff`` content type), for which a
  preview of ``Image.loadGeoTIFF('gs://bucket/object')`` is rendered with the
  GEOTIFF_PREVIEW parameters into ``<RENDER_OBJECT_PREFIX>previews/``;
- anything else, which is skipped with the reason in the log.

Objects this product wrote carry ``rendered-by: eerender`` metadata and are skipped, as
is everything under the output prefix of the output bucket. That is what keeps a
trigger on the output bucket from rendering its own output again.
"""

from __future__ import annotations

import logging
from typing import Any

from cloudevents.http import CloudEvent

from eerender import events, services, worker
from eerender.config import Settings
from eerender.errors import ConfigurationError, InvalidRequest
from eerender.events import StorageObject
from eerender.outcome import EventContext
from eerender.storage import PRODUCER, PRODUCER_KEY

logger = logging.getLogger(__name__)

TRIGGER = "storage"
GEOTIFF_EXTENSIONS = (".tif", ".tiff")
GEOTIFF_CONTENT_TYPE = "image/tiff"
JSON_CONTENT_TYPE = "application/json"
PREVIEWS_FOLDER = "previews/"


def handle(event: CloudEvent) -> None:
    """Render the request file or GeoTIFF of one finalized object, or log the skip.

    Raises:
        Exception: a transient or configuration failure, for the platform to retry.
    """
    with worker.event_logging(event):
        _handle(event, services.get().settings)


def _handle(event: CloudEvent, settings: Settings) -> None:
    runner = worker.get()
    uploaded = runner.read_envelope(
        event, TRIGGER, events.STORAGE_FINALIZED, events.storage_object
    )
    if uploaded is None:
        return

    reason = skip_reason(uploaded, settings)
    if reason is not None:
        logger.info(
            "Skipping %s: %s",
            uploaded.uri,
            reason,
            extra={"json_fields": {"object": uploaded.uri, "skip_reason": reason}},
        )
        return

    context = EventContext(
        trigger=TRIGGER,
        event_id=event["id"],
        request_id=f"{uploaded.uri}#{uploaded.generation}",
        source=uploaded.uri,
        event_time=uploaded.time_created or events.event_time(event),
    )
    if is_request_file(uploaded, settings):
        runner.run(context, lambda: _read_request(runner, uploaded, settings))
    else:
        runner.run(context, lambda: _preview_request(runner, uploaded, context))


def skip_reason(uploaded: StorageObject, settings: Settings) -> str | None:
    """Return why the object is not rendered, or None when it is."""
    if uploaded.metadata.get(PRODUCER_KEY) == PRODUCER:
        return f"written by this product ({PRODUCER_KEY}: {PRODUCER} metadata)"
    if uploaded.bucket == settings.render_bucket and uploaded.name.startswith(
        settings.object_prefix
    ):
        return (
            f"under the output prefix gs://{uploaded.bucket}/{settings.object_prefix}"
        )
    if uploaded.name.endswith("/"):
        return "a folder placeholder"
    if is_request_file(uploaded, settings) or is_geotiff(uploaded):
        return None
    return (
        f"neither a JSON render request under {settings.request_prefix} nor a GeoTIFF"
    )


def is_request_file(uploaded: StorageObject, settings: Settings) -> bool:
    if not uploaded.name.startswith(settings.request_prefix):
        return False
    content_type = uploaded.content_type.split(";")[0].strip().lower()
    return uploaded.name.endswith(".json") or content_type == JSON_CONTENT_TYPE


def is_geotiff(uploaded: StorageObject) -> bool:
    content_type = uploaded.content_type.split(";")[0].strip().lower()
    return (
        uploaded.name.lower().endswith(GEOTIFF_EXTENSIONS)
        or content_type == GEOTIFF_CONTENT_TYPE
    )


def _read_request(
    runner: worker.EventWorker, uploaded: StorageObject, settings: Settings
) -> Any:
    raw = runner.records.read(
        uploaded.bucket, uploaded.name, settings.max_body_bytes, uploaded.generation
    )
    if raw is None:
        raise InvalidRequest(
            f"{uploaded.uri} generation {uploaded.generation} no longer exists; it "
            "was deleted or replaced before it could be read.",
            code="REQUEST_OBJECT_NOT_FOUND",
            value=uploaded.uri,
        )
    return events.decode_json(raw, f"request file {uploaded.uri}")


def _preview_request(
    runner: worker.EventWorker, uploaded: StorageObject, context: EventContext
) -> dict[str, Any]:
    """Build the render request of a GeoTIFF's preview, named after its generation.

    The generation in the name gives a replaced GeoTIFF a new preview, while a
    redelivered event for the same upload finds the preview it already rendered.
    """
    settings = services.get().settings
    if not settings.render_bucket:
        raise ConfigurationError(
            "GeoTIFF previews are written to RENDER_BUCKET, which is not set.",
            code="RENDER_BUCKET_MISSING",
        )
    request = {
        **settings.geotiff_preview,
        "expression": geotiff_expression(uploaded.uri),
        "delivery": "store",
    }
    extension = runner.parse(request, context).file_extension
    name = (
        f"{settings.object_prefix}{PREVIEWS_FOLDER}{uploaded.bucket}/"
        f"{uploaded.name}.{uploaded.generation}.{extension}"
    )
    return {
        **request,
        "destination": {"bucket": settings.render_bucket, "object": name},
    }


def geotiff_expression(uri: str) -> dict[str, Any]:
    """Return the Earth Engine expression of ``ee.Image.loadGeoTIFF(uri)``."""
    return {
        "result": "0",
        "values": {
            "0": {
                "functionInvocationValue": {
                    "functionName": "Image.loadGeoTIFF",
                    "arguments": {"uri": {"constantValue": uri}},
                }
            }
        },
    }
