"""Claims in Cloud Storage that make a chat command render once and reply once.

A claim is a small JSON object created with ``ifGenerationMatch=0``, so when two
instances claim the same name at the same time exactly one of them succeeds, whichever
instance each request reaches. Command claims cover a time window: the same command
from the same user in the same channel within ``window`` seconds finds the first claim
and is answered as a repeat. Reply claims stop a redelivered result from being posted
twice.
"""

from __future__ import annotations

import datetime
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import requests

from eerender.records import RecordStore
from eerender.storage import connection_error, storage_error

if TYPE_CHECKING:
    from google.cloud import storage

logger = logging.getLogger(__name__)

COMMANDS_FOLDER = "chat/commands/"
REPLIES_FOLDER = "chat/replies/"
MAX_CLAIM_BYTES = 64 * 1024
_UNSAFE_NAME_CHARACTERS = re.compile(r"[^A-Za-z0-9._=-]+")

Clock = Callable[[], datetime.datetime]


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


@dataclass(frozen=True)
class CommandClaim:
    """The outcome of claiming a command: first, or a repeat of an earlier one."""

    request_id: str
    repeat_of: dict[str, Any] | None = None

    @property
    def is_repeat(self) -> bool:
        return self.repeat_of is not None


class Claims:
    """Creates and releases claims under ``prefix`` in ``bucket``."""

    def __init__(
        self,
        records: RecordStore,
        client: storage.Client,
        bucket: str,
        prefix: str,
        clock: Clock = utc_now,
    ) -> None:
        self._records = records
        self._client = client
        self._bucket = bucket
        self._prefix = prefix
        self._clock = clock

    def claim_command(
        self, key: str, window: int, document: dict[str, Any]
    ) -> CommandClaim:
        """Claim the command ``key`` for ``window`` seconds.

        The window is cut into slots of ``window`` seconds. A command claims its slot,
        and a claim in the previous slot younger than ``window`` also makes it a
        repeat, so repeats across a slot boundary are caught too. A window of 0
        claims nothing.
        """
        now = self._clock()
        slot = int(now.timestamp() // window) if window else 0
        request_id = f"{key[:32]}-{slot}"
        if not window:
            return CommandClaim(request_id)

        name = self._command_name(key, slot)
        record = {**document, "request_id": request_id, "claimed_at": now.isoformat()}
        if not self._records.create(self._bucket, name, record, {}):
            return CommandClaim(request_id, self._read(name) or record)

        earlier = self._read(self._command_name(key, slot - 1))
        if earlier is not None and _age(earlier, now) < window:
            # The earlier slot's claim stays the one in force, so this slot's claim
            # is removed and cannot stretch the window.
            self.release(name)
            return CommandClaim(str(earlier.get("request_id", request_id)), earlier)
        return CommandClaim(request_id)

    def release_command(self, key: str, request_id: str) -> None:
        """Remove a command's claim, after its hand-off failed, so it can be retried."""
        slot = request_id.rsplit("-", 1)[-1]
        self.release(f"{self._prefix}{COMMANDS_FOLDER}{key}-{slot}.json")

    def claim_reply(self, request_id: str) -> bool:
        """Claim the reply to ``request_id``; return False when claimed before."""
        record = {"request_id": request_id, "claimed_at": self._clock().isoformat()}
        return self._records.create(
            self._bucket, self._reply_name(request_id), record, {}
        )

    def release_reply(self, request_id: str) -> None:
        """Remove a reply claim, after posting failed, so a redelivery posts again."""
        self.release(self._reply_name(request_id))

    def release(self, name: str) -> None:
        # Imported here to keep Cloud Storage's libraries out of main.py's imports.
        import google.api_core.exceptions as api_exceptions

        try:
            self._client.bucket(self._bucket).blob(name).delete(timeout=30)
        except api_exceptions.NotFound:
            return
        except api_exceptions.GoogleAPICallError as error:
            raise storage_error(error, "delete", self._bucket, name) from error
        except requests.RequestException as error:
            raise connection_error(error, "delete", self._bucket, name) from error
        logger.info("Released claim gs://%s/%s", self._bucket, name)

    def _read(self, name: str) -> dict[str, Any] | None:
        value = self._records.read_json(self._bucket, name, MAX_CLAIM_BYTES)
        return value if isinstance(value, dict) else None

    def _command_name(self, key: str, slot: int) -> str:
        return f"{self._prefix}{COMMANDS_FOLDER}{key}-{slot}.json"

    def _reply_name(self, request_id: str) -> str:
        safe = _UNSAFE_NAME_CHARACTERS.sub("_", request_id)[:200]
        return f"{self._prefix}{REPLIES_FOLDER}{safe}.json"


def _age(claim: dict[str, Any], now: datetime.datetime) -> float:
    try:
        claimed = datetime.datetime.fromisoformat(str(claim.get("claimed_at")))
    except ValueError:
        return float("inf")
    return (now - claimed).total_seconds()
