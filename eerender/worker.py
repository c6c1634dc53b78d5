"""Runs one render request that arrived as an event, and settles its outcome.

Both event triggers end here. A request is rendered into Cloud Storage under its
canonical name, so a redelivered event finds the object and renders nothing. Each
outcome is announced on RESULTS_TOPIC when one is set. Failures are settled by
``outcome``: a permanent one is written as a failure record next to where the result
would have been and acknowledged, the others are raised for the platform to redeliver.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from cloudevents.http import CloudEvent

from eerender import events, logs, services
from eerender.batch import BatchItem, BatchLedger, batch_item
from eerender.config import Settings
from eerender.errors import (
    ConfigurationError,
    EventExpired,
    InvalidRequest,
    Outcome,
    RenderError,
)
from eerender.outcome import (
    EventContext,
    as_render_error,
    failure_name,
    failure_record,
    log_outcome,
)
from eerender.pubsub import OutgoingMessage, Publisher
from eerender.render import Renderer, StoredRender
from eerender.request import RenderRequest, parse_render_request

if TYPE_CHECKING:
    from eerender.records import RecordStore
    from eerender.storage import RenderStore

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime.datetime]
Envelope = TypeVar("Envelope")
# A failure record keeps the request for diagnosis, but not a multi-megabyte one.
MAX_RECORDED_REQUEST_CHARS = 256 * 1024
RENDERED = "rendered"
FAILED = "failed"


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


@dataclass(frozen=True)
class Settled:
    """The outcome of one event, as announced and as recorded for a batch."""

    status: str
    document: dict[str, Any]
    attributes: dict[str, str]


class EventWorker:
    """Renders event requests and settles their outcomes. Safe to share."""

    def __init__(
        self,
        settings: Settings,
        renderer: Renderer,
        renders: RenderStore,
        records: RecordStore,
        publisher: Publisher,
        clock: Clock = utc_now,
    ) -> None:
        self._settings = settings
        self._renderer = renderer
        self._renders = renders
        self._records = records
        self._publisher = publisher
        self._batches = BatchLedger(records, settings.max_body_bytes)
        self._clock = clock

    @property
    def records(self) -> RecordStore:
        return self._records

    @property
    def publisher(self) -> Publisher:
        return self._publisher

    def run(self, context: EventContext, decode: Callable[[], Any]) -> None:
        """Render the request that ``decode`` returns, then announce and record it.

        Raises:
            Exception: a transient or configuration failure, so the event is retried.
        """
        data: Any = None
        request: RenderRequest | None = None
        try:
            data = decode()
            request = self.parse(data, context)
            settled = self._store(context, request)
        except Exception as error:
            failure = as_render_error(error)
            log_outcome(context, failure)
            if failure.outcome is not Outcome.PERMANENT:
                raise
            settled = self._record_failure(context, failure, data, request)

        # Outside the try: a failed announcement must be retried, never recorded as a
        # failure of a render that succeeded.
        self._finish(context, settled)

    def read_envelope(
        self,
        event: CloudEvent,
        trigger: str,
        expected_type: str,
        read: Callable[[CloudEvent], Envelope],
    ) -> Envelope | None:
        """Check the event type and read its data with ``read``.

        Returns None when the envelope is unusable, after settling that as a failure
        recorded under the event id.
        """
        try:
            events.check_type(event, expected_type)
            return read(event)
        except RenderError as error:
            self._reject(envelope_context(event, trigger), error)
            return None

    def _reject(self, context: EventContext, error: RenderError) -> None:
        def decode() -> Any:
            raise error

        self.run(context, decode)

    def parse(self, data: Any, context: EventContext) -> RenderRequest:
        """Check the request the way the HTTP trigger does, with delivery ``store``."""
        if isinstance(data, dict):
            data = _as_stored(
                data, context.attributes.get(events.DESTINATION_ATTRIBUTE)
            )
        return parse_render_request(data, self._settings)

    def _store(self, context: EventContext, request: RenderRequest) -> Settled:
        if self._expired(context):
            bucket, name = self._renderer.destination(request)
            existing = self._renders.find(bucket, name)
            if existing is None:
                raise EventExpired(
                    f"The event is older than EVENT_MAX_AGE="
                    f"{self._settings.event_max_age} s and was dropped unrendered; "
                    "publish the request again to render it.",
                    value=context.event_time.isoformat()
                    if context.event_time
                    else None,
                    limit=self._settings.event_max_age,
                )
            logger.info("Expired event already rendered as %s", existing.uri)
            return _rendered(context, StoredRender(existing))

        result = self._renderer.store(request)
        logger.info(
            "Rendered request %s into %s",
            context.request_id,
            result.stored.uri,
            extra={"json_fields": {"newly_rendered": result.stored.newly_rendered}},
        )
        return _rendered(context, result)

    def _expired(self, context: EventContext) -> bool:
        max_age = self._settings.event_max_age
        if not max_age or context.event_time is None:
            return False
        age = (self._clock() - context.event_time).total_seconds()
        return age > max_age

    def _record_failure(
        self,
        context: EventContext,
        error: RenderError,
        data: Any,
        request: RenderRequest | None,
    ) -> Settled:
        result_bucket, result_name = (
            self._renderer.destination(request) if request else (None, None)
        )
        bucket = result_bucket or self._require_bucket()
        name = failure_name(
            result_name,
            self._settings.object_prefix,
            context.request_id,
            context.event_id,
        )
        result_uri = f"gs://{result_bucket}/{result_name}" if result_name else None
        document = failure_record(
            context, error, _recordable(data), result_uri, self._clock()
        )
        self._records.create(bucket, name, document, {"request-id": context.request_id})

        document["record_uri"] = f"gs://{bucket}/{name}"
        attributes = {"status": FAILED, "code": error.code}
        return Settled(FAILED, document, attributes)

    def _require_bucket(self) -> str:
        if not self._settings.render_bucket:
            raise ConfigurationError(
                "There is no bucket to record the failure in: set RENDER_BUCKET.",
                code="RENDER_BUCKET_MISSING",
            )
        return self._settings.render_bucket

    def _finish(self, context: EventContext, settled: Settled) -> None:
        item = batch_item(context.attributes)
        if item is not None:
            self._batches.record(item, context.request_id, settled.document)
        self._announce(context, settled, item)

    def _announce(
        self, context: EventContext, settled: Settled, item: BatchItem | None
    ) -> None:
        topic = self._settings.results_topic
        if not topic:
            return
        attributes = {
            **context.reply,
            **settled.attributes,
            "request_id": context.request_id,
            **(item.attributes() if item else {}),
        }
        message = OutgoingMessage.from_json(settled.document, attributes)
        self._publisher.publish(topic, [message])


def _as_stored(data: dict[str, Any], destination: str | None) -> dict[str, Any]:
    delivery = data.get("delivery", "store")
    if delivery != "store":
        raise InvalidRequest(
            f"delivery {delivery!r} is not possible for an event: event triggers "
            "store the image in Cloud Storage. Leave delivery out or set 'store'.",
            field="/delivery",
            value=delivery,
        )
    data = {**data, "delivery": "store"}
    if destination and "destination" not in data:
        data["destination"] = _destination_from_uri(destination)
    return data


def _destination_from_uri(uri: str) -> dict[str, str]:
    bucket, _, name = uri.removeprefix("gs://").partition("/")
    if not uri.startswith("gs://") or not bucket:
        raise InvalidRequest(
            f"The destination attribute {uri!r} is not a gs://BUCKET/OBJECT URI.",
            field="/attributes/destination",
            value=uri,
        )
    return {"bucket": bucket, "object": name} if name else {"bucket": bucket}


def _rendered(context: EventContext, result: StoredRender) -> Settled:
    stored = result.stored
    document: dict[str, Any] = {
        "status": RENDERED,
        "request_id": context.request_id,
        **result.to_json(),
        "event": context.to_json(),
    }
    attributes = {"status": RENDERED, "uri": stored.uri}
    return Settled(RENDERED, document, attributes)


def _recordable(data: Any) -> Any:
    text = json.dumps(data, ensure_ascii=False, default=str)
    if len(text) <= MAX_RECORDED_REQUEST_CHARS:
        return data
    return {"omitted": "request too large to record", "characters": len(text)}


@contextlib.contextmanager
def event_logging(event: CloudEvent) -> Iterator[None]:
    """Tag every log line written while handling ``event`` with its id.

    A deployment whose settings are invalid is logged at ERROR here, with the fix,
    and raised so the event waits for it.
    """
    try:
        settings = services.get().settings
    except RenderError as error:
        log_outcome(envelope_context(event, "event"), error)
        raise
    logs.bind(settings.ee_project, None, event_id=event["id"])
    try:
        yield
    finally:
        logs.clear()


def envelope_context(event: CloudEvent, trigger: str) -> EventContext:
    """Describe an event whose data could not be read, keyed by the event id."""
    return EventContext(
        trigger=trigger,
        event_id=event["id"],
        request_id=event["id"],
        source=event["source"],
        event_time=events.event_time(event),
    )


# One worker per instance, rebuilt whenever the shared services are.
_lock = threading.Lock()
_built: tuple[services.Services, EventWorker] | None = None


def get() -> EventWorker:
    """Return this instance's worker, built on first use from the shared services."""
    global _built
    shared = services.get()
    with _lock:
        if _built is None or _built[0] is not shared:
            _built = (shared, build(shared))
        return _built[1]


def build(shared: services.Services) -> EventWorker:
    from eerender.records import RecordStore

    settings = shared.settings
    renders = shared.renderer.render_store()
    return EventWorker(
        settings,
        shared.renderer,
        renders,
        RecordStore(settings, renders.client),
        Publisher(settings, shared.earth_engine.session),
    )
