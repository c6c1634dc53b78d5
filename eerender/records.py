"""Small JSON records in Cloud Storage: failure records, batch items and manifests.

Records are created, never overwritten: every write carries ``if_generation_match=0``,
so a redelivered event that records the same outcome again leaves the first record in
place and learns that it exists. Like renders, records carry the ``rendered-by``
metadata, so a bucket trigger never treats them as input.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import requests

from eerender.config import Settings
from eerender.errors import PayloadTooLarge
from eerender.storage import (
    PRODUCER,
    PRODUCER_KEY,
    connection_error,
    storage_error,
)

if TYPE_CHECKING:
    from google.cloud import storage

# google.api_core is imported in the methods, on first use: main.py imports this
# module through the chat handlers, and keeping Cloud Storage's libraries out of
# that import saves every cold start, redirects included (bench/cold_start.py).

logger = logging.getLogger(__name__)

JSON_TYPE = "application/json"
# Records change as little as renders do, but a reader polling a manifest should not
# see a stale "missing" from a cache.
RECORD_CACHE_CONTROL = "no-store"


class RecordStore:
    """Creates, reads and lists JSON records. Safe to share between threads."""

    def __init__(self, settings: Settings, client: storage.Client) -> None:
        self._client = client
        self._timeout = (settings.ee_connect_timeout, settings.ee_read_timeout)

    def create(
        self, bucket: str, name: str, document: dict[str, Any], metadata: dict[str, str]
    ) -> bool:
        """Write ``document`` as a new object; return False when it exists already."""
        import google.api_core.exceptions as api_exceptions

        blob = self._client.bucket(bucket).blob(name)
        blob.metadata = {**metadata, PRODUCER_KEY: PRODUCER}
        blob.cache_control = RECORD_CACHE_CONTROL
        body = json.dumps(document, ensure_ascii=False, indent=1, sort_keys=True)
        try:
            blob.upload_from_string(
                body.encode("utf-8"),
                content_type=JSON_TYPE,
                if_generation_match=0,
                timeout=self._timeout,
            )
        except api_exceptions.PreconditionFailed:
            logger.info("gs://%s/%s exists already; keeping it", bucket, name)
            return False
        except api_exceptions.GoogleAPICallError as error:
            raise storage_error(error, "write", bucket, name) from error
        except requests.RequestException as error:
            raise connection_error(error, "write", bucket, name) from error
        logger.info("Recorded gs://%s/%s", bucket, name)
        return True

    def read(
        self, bucket: str, name: str, max_bytes: int, generation: int | None = None
    ) -> bytes | None:
        """Return the object's bytes, or None when that object or generation is gone.

        Raises:
            PayloadTooLarge: when the object is over ``max_bytes``.
        """
        import google.api_core.exceptions as api_exceptions

        try:
            blob = self._client.bucket(bucket).get_blob(
                name, generation=generation or None, timeout=self._timeout
            )
            if blob is None:
                return None
            if blob.size is not None and blob.size > max_bytes:
                raise PayloadTooLarge(
                    f"gs://{bucket}/{name} is {blob.size} bytes; the limit is "
                    f"{max_bytes}. Refer to an asset or write a smaller request.",
                    value=blob.size,
                    limit=max_bytes,
                )
            # The blob carries the generation it was fetched with.
            content: bytes = blob.download_as_bytes(timeout=self._timeout)
            return content
        except api_exceptions.NotFound:
            return None
        except api_exceptions.GoogleAPICallError as error:
            raise storage_error(error, "read", bucket, name) from error
        except requests.RequestException as error:
            raise connection_error(error, "read", bucket, name) from error

    def read_json(self, bucket: str, name: str, max_bytes: int) -> Any:
        """Return the record's JSON value, or None when there is no such record."""
        raw = self.read(bucket, name, max_bytes)
        return None if raw is None else json.loads(raw)

    def names(self, bucket: str, prefix: str) -> Iterator[str]:
        """Yield the names of the objects under ``prefix``, in lexical order."""
        import google.api_core.exceptions as api_exceptions

        try:
            for blob in self._client.list_blobs(
                bucket, prefix=prefix, timeout=self._timeout
            ):
                yield blob.name
        except api_exceptions.GoogleAPICallError as error:
            raise storage_error(error, "list", bucket, prefix + "*") from error
        except requests.RequestException as error:
            raise connection_error(error, "list", bucket, prefix + "*") from error
