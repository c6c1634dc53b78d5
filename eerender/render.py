"""The render service: a request in, a pixel URL or a stored object out."""

from __future__ import annotations

import base64
import dataclasses
import datetime
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eerender.cache import ThumbnailCache
from eerender.config import Settings
from eerender.earthengine import EarthEngineClient, PixelResponse
from eerender.errors import ConfigurationError, RenderError, ThumbnailExpired
from eerender.pixels import PixelStream
from eerender.request import RenderRequest
from eerender.retry import RetryPolicy, call_with_retry, is_retryable

if TYPE_CHECKING:
    # Cloud Storage's client is slow to import; the redirect path never needs it.
    from eerender.signing import IamSigner
    from eerender.storage import RenderStore, StoredObject

logger = logging.getLogger(__name__)

# Whole-render attempts on the store path: a fresh thumbnail id and download each time.
STORE_ATTEMPTS = 3

_FORMAT_BY_CONTENT_TYPE = {
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "image/tiff": "GEO_TIFF",
}


@dataclass(frozen=True)
class PixelLink:
    """A getPixels URL and how long callers may cache it."""

    url: str
    thumbnail: str
    max_age: int

    def to_json(self) -> dict[str, Any]:
        return {"url": self.url, "thumbnail": self.thumbnail, "max_age": self.max_age}


@dataclass(frozen=True)
class StoredRender:
    """A render copied into Cloud Storage, with an optional signed URL."""

    stored: StoredObject
    signed_url: str | None = None

    def to_json(self) -> dict[str, Any]:
        body = self.stored.to_json()
        if self.signed_url:
            body["signed_url"] = self.signed_url
        return body


class Renderer:
    """Turns checked render requests into pixel links or stored objects."""

    def __init__(
        self,
        settings: Settings,
        earth_engine: EarthEngineClient,
        store_factory: Callable[[], RenderStore] | None = None,
        signer: IamSigner | None = None,
    ) -> None:
        self._settings = settings
        self._ee = earth_engine
        self._store_factory = store_factory
        self._store: RenderStore | None = None
        self._store_lock = threading.Lock()
        self._signer = signer
        self._thumbnails = ThumbnailCache(settings.thumbnail_cache_seconds)

    def link(self, request: RenderRequest) -> PixelLink:
        """Return the pixel URL of a thumbnail for ``request`` (the redirect path).

        A thumbnail id made for an identical request a short while ago is reused, so
        repeated requests cost no Earth Engine call; browsers may cache the redirect for
        no longer than the id has left.
        """
        key = request.request_hash()
        cached = self._thumbnails.get(key)
        if cached is not None:
            name, seconds_left = cached
        else:
            name = self._ee.create_thumbnail(request.thumbnail_body())
            self._thumbnails.put(key, name)
            seconds_left = float(self._settings.thumbnail_cache_seconds or 3600)
        max_age = min(self._settings.redirect_max_age, int(seconds_left))
        return PixelLink(url=self._ee.pixel_url(name), thumbnail=name, max_age=max_age)

    def store(self, request: RenderRequest) -> StoredRender:
        """Copy the rendered image into Cloud Storage, reusing an existing copy."""
        store = self.render_store()
        bucket, name = self.destination(request)
        stored = store.find(bucket, name)
        if stored is not None:
            logger.info("Reusing %s; no render needed", stored.uri)
        else:
            stored = self._render_into(store, request, bucket, name)
        return StoredRender(stored, self._sign(request, stored))

    def destination(self, request: RenderRequest) -> tuple[str, str]:
        bucket = request.destination_bucket or self._settings.render_bucket
        if not bucket:
            raise ConfigurationError(
                "No bucket is configured for stored renders: set RENDER_BUCKET or name "
                "destination.bucket in the request.",
                code="RENDER_BUCKET_MISSING",
            )
        name = request.destination_object or (
            f"{self._settings.object_prefix}{request.request_hash()}"
            f".{request.file_extension}"
        )
        return bucket, name

    def _render_into(
        self, store: RenderStore, request: RenderRequest, bucket: str, name: str
    ) -> StoredObject:
        started = time.monotonic()
        body = request.thumbnail_body()

        def attempt() -> StoredObject:
            remaining = self._settings.ee_deadline - (time.monotonic() - started)
            thumbnail = self._ee.create_thumbnail(body, deadline=remaining)
            pixels = self._ee.open_pixels(thumbnail, deadline=remaining)
            try:
                deadline = self._settings.ee_deadline - (time.monotonic() - started)
                return _copy_pixels(store, request, pixels, (bucket, name), deadline)
            finally:
                pixels.response.close()

        policy = RetryPolicy(
            max_attempts=STORE_ATTEMPTS, deadline=self._settings.ee_deadline
        )
        return call_with_retry(
            attempt,
            policy,
            f"render into gs://{bucket}/{name}",
            retryable=_store_retryable,
        )

    def _sign(self, request: RenderRequest, stored: StoredObject) -> str | None:
        if not request.signed_url:
            return None
        if self._signer is None:
            raise ConfigurationError(
                "A signed URL was requested but signing is off: set "
                "SIGNED_URL_SERVICE_ACCOUNT to the function's service account.",
                code="SIGNING_DISABLED",
            )
        from eerender.signing import signed_url

        return signed_url(
            self.render_store().client,
            self._signer,
            stored.bucket,
            stored.name,
            self._settings.signed_url_ttl,
        )

    def render_store(self) -> RenderStore:
        """Return the instance's Cloud Storage writer, connecting on first use."""
        with self._store_lock:
            if self._store is None:
                if self._store_factory is None:
                    raise ConfigurationError(
                        "Storage is not configured for this function.",
                        code="STORAGE_MISSING",
                    )
                self._store = self._store_factory()
            return self._store


def _copy_pixels(
    store: RenderStore,
    request: RenderRequest,
    pixels: PixelResponse,
    target: tuple[str, str],
    deadline: float,
) -> StoredObject:
    """Stream the getPixels body into gs://bucket/name, checking it on the way."""
    bucket, name = target
    file_format = _FORMAT_BY_CONTENT_TYPE.get(
        pixels.content_type.split(";")[0].strip(), request.file_format
    )
    stream = PixelStream(pixels, file_format)
    try:
        return store.write(
            bucket,
            name,
            stream,
            content_type=pixels.content_type or request.content_type,
            metadata=_metadata(request),
            deadline=deadline,
        )
    except RenderError:
        committed = _committed_copy(store, bucket, name, stream)
        if committed is None:
            raise
        return committed


def _committed_copy(
    store: RenderStore, bucket: str, name: str, stream: PixelStream
) -> StoredObject | None:
    """Return the object when the upload reached Cloud Storage but its answer was lost.

    When the answer to the last chunk times out or breaks, the uploader sends the chunk
    again to a finished session, and a failure of that repeat hides a complete upload.
    The object is ours when the whole image was read and the CRC32C of the object
    matches that of the bytes read.
    """
    if not stream.complete:
        return None
    try:
        existing = store.find(bucket, name)
    except RenderError:
        return None
    checksum = base64.b64encode(stream.crc32c.to_bytes(4, "big")).decode("ascii")
    if existing is None or existing.crc32c != checksum:
        return None
    logger.info("%s was stored although the upload reported a failure", existing.uri)
    return dataclasses.replace(existing, newly_rendered=True)


def _store_retryable(error: RenderError) -> bool:
    # An expired id is fixed by the next attempt's fresh thumbnails.create.
    return is_retryable(error) or isinstance(error, ThumbnailExpired)


def _metadata(request: RenderRequest) -> dict[str, str]:
    metadata = {
        "request-hash": request.request_hash(),
        "expression-hash": request.expression_hash(),
        "format": request.file_format,
        "rendered-at": datetime.datetime.now(datetime.UTC).isoformat(),
    }
    estimate = request.output_estimate()
    if estimate is not None:
        metadata["dimensions"] = f"{estimate.width}x{estimate.height}"
    return metadata
