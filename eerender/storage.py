"""Writes rendered images into Cloud Storage without holding a whole image in memory.

Uploads are resumable: a chunk at a time is read from Earth Engine and sent on, and the
object only appears when the last chunk is accepted. A render that fails part way
therefore leaves no object behind. Every write carries ``if_generation_match=0``, so a
repeated request that races another one keeps the first object instead of overwriting
it.
"""

from __future__ import annotations

import io
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import requests

from eerender.config import Settings
from eerender.errors import ConfigurationError, RenderError, StorageError, Upstream
from eerender.logs import redact

if TYPE_CHECKING:
    import google.api_core.exceptions as api_exceptions
    from google.api_core.retry import Retry
    from google.cloud import storage

# The Cloud Storage client is imported on first use, in the methods below, because
# main.py imports this module for its constants and the client adds about 90 ms to
# every cold start, redirects included (bench/cold_start.py).

logger = logging.getLogger(__name__)

SERVICE = "storage"
# Marks objects this product wrote, so a bucket trigger never renders its own output.
PRODUCER_KEY = "rendered-by"
PRODUCER = "eerender"


@dataclass(frozen=True)
class StoredObject:
    """A finished render in Cloud Storage."""

    bucket: str
    name: str
    size: int
    content_type: str
    crc32c: str
    generation: int
    metadata: dict[str, str] = field(default_factory=dict)
    newly_rendered: bool = False

    @property
    def uri(self) -> str:
        return f"gs://{self.bucket}/{self.name}"

    def to_json(self) -> dict[str, Any]:
        return {
            "uri": self.uri,
            "bucket": self.bucket,
            "object": self.name,
            "size": self.size,
            "content_type": self.content_type,
            "crc32c": self.crc32c,
            "generation": self.generation,
            "newly_rendered": self.newly_rendered,
            "metadata": self.metadata,
        }


def _stored(blob: storage.Blob, newly_rendered: bool) -> StoredObject:
    return StoredObject(
        bucket=blob.bucket.name,
        name=blob.name,
        size=int(blob.size or 0),
        content_type=blob.content_type or "",
        crc32c=blob.crc32c or "",
        generation=int(blob.generation or 0),
        metadata=dict(blob.metadata or {}),
        newly_rendered=newly_rendered,
    )


class RenderStore:
    """Finds and writes render objects. Safe to share between threads."""

    def __init__(
        self, settings: Settings, client: storage.Client | None = None
    ) -> None:
        from google.cloud import storage

        self._settings = settings
        self._client = client or storage.Client(project=settings.ee_project or None)
        self._timeout = (settings.ee_connect_timeout, settings.ee_read_timeout)

    @property
    def client(self) -> storage.Client:
        return self._client

    def find(self, bucket: str, name: str) -> StoredObject | None:
        """Return the object if it exists already, else None."""
        import google.api_core.exceptions as api_exceptions

        started = time.monotonic()
        try:
            # get_blob retries transient failures itself: a metadata read is idempotent.
            blob = self._client.bucket(bucket).get_blob(
                name,
                timeout=self._timeout,
                retry=_retry_within(self._settings.ee_deadline),
            )
        except api_exceptions.RetryError as error:
            raise retries_exhausted_error(error, "read", bucket, name) from error
        except api_exceptions.GoogleAPICallError as error:
            raise storage_error(error, "read", bucket, name) from error
        except requests.RequestException as error:
            raise connection_error(error, "read", bucket, name) from error
        logger.info(
            "Looked up gs://%s/%s: %s",
            bucket,
            name,
            "found" if blob is not None else "absent",
            extra={
                "json_fields": {
                    "operation": "storage.get",
                    "latency_ms": round((time.monotonic() - started) * 1000, 1),
                }
            },
        )
        return _stored(blob, newly_rendered=False) if blob is not None else None

    def write(
        self,
        bucket: str,
        name: str,
        source: io.RawIOBase,
        content_type: str,
        metadata: dict[str, str],
        deadline: float | None = None,
    ) -> StoredObject:
        """Upload ``source`` as a new object; an existing object of that name is kept.

        Returns the stored object, with ``newly_rendered`` False when another request
        wrote it first. Errors raised by ``source`` reach the caller unchanged and leave
        no object. Failed requests of the upload are retried for at most ``deadline``
        seconds (EE_DEADLINE when None).
        """
        import google.api_core.exceptions as api_exceptions

        blob = self._client.bucket(bucket).blob(
            name, chunk_size=self._settings.store_chunk_bytes
        )
        blob.content_type = content_type
        blob.cache_control = self._settings.cache_control
        blob.metadata = {**metadata, PRODUCER_KEY: PRODUCER}
        started = time.monotonic()
        try:
            blob.upload_from_file(
                source,
                content_type=content_type,
                if_generation_match=0,
                checksum="crc32c",
                timeout=self._timeout,
                retry=_retry_within(
                    self._settings.ee_deadline if deadline is None else deadline
                ),
            )
        except api_exceptions.PreconditionFailed:
            logger.info("gs://%s/%s exists already; keeping it", bucket, name)
            existing = self.find(bucket, name)
            if existing is None:
                raise StorageError(
                    f"gs://{bucket}/{name} was reported as existing but cannot be "
                    "read; retry the request.",
                    upstream=Upstream(SERVICE, 412, "precondition failed"),
                ) from None
            return existing
        except api_exceptions.RetryError as error:
            raise retries_exhausted_error(error, "write", bucket, name) from error
        except api_exceptions.GoogleAPICallError as error:
            raise storage_error(error, "write", bucket, name) from error
        except requests.RequestException as error:
            raise connection_error(error, "write", bucket, name) from error

        logger.info(
            "Stored gs://%s/%s",
            bucket,
            name,
            extra={
                "json_fields": {
                    "operation": "storage.upload",
                    "size": blob.size,
                    "latency_ms": round((time.monotonic() - started) * 1000, 1),
                }
            },
        )
        return _stored(blob, newly_rendered=True)


def _retry_within(seconds: float) -> Retry:
    """Return Cloud Storage's default retry, cut from its 120 s to ``seconds``.

    The default would keep a request retrying long after the function's own deadline
    and the platform's request time-out.
    """
    from google.cloud.storage.retry import DEFAULT_RETRY

    bounded: Retry = DEFAULT_RETRY.with_timeout(max(0.0, seconds))
    return bounded


def retries_exhausted_error(
    error: api_exceptions.RetryError, verb: str, bucket: str, name: str
) -> StorageError:
    """Turn Cloud Storage retries that ran out of time into a retryable StorageError."""
    cause = error.cause
    status = getattr(cause, "code", None)
    return StorageError(
        f"Cloud Storage kept failing to {verb} gs://{bucket}/{name} until the "
        f"deadline, last with {type(cause).__name__}; retry later.",
        upstream=Upstream(
            SERVICE,
            status if isinstance(status, int) else None,
            redact(str(cause))[:300],
        ),
    )


def storage_error(
    error: api_exceptions.GoogleAPICallError, verb: str, bucket: str, name: str
) -> RenderError:
    """Turn a Cloud Storage API error on gs://bucket/name into this product's error."""
    status = error.code
    upstream = Upstream(SERVICE, int(status) if status else None, redact(error.message))
    target = f"gs://{bucket}/{name}"
    if status in (401, 403):
        return ConfigurationError(
            f"Cloud Storage refused to {verb} {target}: grant the function's service "
            f"account roles/storage.objectCreator and roles/storage.objectViewer on "
            f"bucket {bucket}.",
            code="STORAGE_PERMISSION",
            upstream=upstream,
        )
    if status == 404 and verb == "write" and "bucket" not in error.message.lower():
        # A resumable upload session that expired or was lost also returns 404.
        return StorageError(
            f"Cloud Storage lost the upload session for {target}; retry the request.",
            code="STORAGE_UPLOAD_LOST",
            upstream=upstream,
        )
    if status == 404:
        return ConfigurationError(
            f"Cloud Storage bucket {bucket} does not exist; create it or fix "
            "RENDER_BUCKET / the destination bucket.",
            code="BUCKET_NOT_FOUND",
            upstream=upstream,
        )
    return StorageError(
        f"Cloud Storage failed to {verb} {target} ({status}); retry later.",
        upstream=upstream,
    )


def connection_error(
    error: requests.RequestException, verb: str, bucket: str, name: str
) -> StorageError:
    """Turn a failed connection to Cloud Storage into a retryable StorageError."""
    return StorageError(
        f"Cloud Storage could not be reached to {verb} gs://{bucket}/{name}; "
        "retry later.",
        upstream=Upstream(SERVICE, None, redact(str(error))[:300]),
    )
