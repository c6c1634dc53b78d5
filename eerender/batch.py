"""Batches: one description in, one Pub/Sub message per render out, one manifest back.

A batch is a list of render requests, or a base request with ``frames`` (each overrides
top-level fields and may fill ``{{name}}`` placeholders in the expression) or ``tiles``
(a grid over a bounding box). Every item is checked before anything is published, so a
batch is either accepted whole or rejected with the item at fault.

Results land under ``<RENDER_OBJECT_PREFIX>batches/<batch id>/``:

- ``batch.json``: the plan, written when the batch is published;
- ``00000.png`` ...: the renders, one per item, plus ``.failure.json`` records;
- ``items/000000.json``: one record per finished item, rendered or failed;
- ``manifest.json``: every item record, written by whichever item finishes last.

One record object per item, rather than one manifest rewritten under a generation
precondition, because items finish concurrently on many instances: a shared object
would make every finisher contend for one write per second and retry on 412. Each
item record is created once. The item that finishes last sees all of them in a strongly
consistent listing and creates the manifest once with ``if_generation_match=0``.
Progress is the listing of ``items/``.
"""

from __future__ import annotations

import copy
import datetime
import hashlib
import json
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eerender.config import Settings
from eerender.errors import InvalidRequest, RenderError
from eerender.request import parse_render_request

if TYPE_CHECKING:
    from eerender.pubsub import OutgoingMessage, Publisher
    from eerender.records import RecordStore

logger = logging.getLogger(__name__)

BATCH_ATTRIBUTE = "batch"
ITEM_ATTRIBUTE = "batch_item"
SIZE_ATTRIBUTE = "batch_size"
BATCH_FOLDER = "batches/"
ITEMS_FOLDER = "items/"
PLAN_NAME = "batch.json"
MANIFEST_NAME = "manifest.json"
DESCRIPTION_FIELDS = ("requests", "base", "frames", "tiles", "batch_id")
# Reading every item record when the last one finishes; enough to hide latency.
MANIFEST_READERS = 16
_BATCH_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
_PLACEHOLDER = re.compile(r"\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}")


@dataclass(frozen=True)
class BatchItem:
    """Bucket, prefix and index under which one batch item reports its outcome."""

    bucket: str
    prefix: str
    index: int
    size: int

    @property
    def record_name(self) -> str:
        return f"{self.prefix}{ITEMS_FOLDER}{self.index:06d}.json"

    @property
    def manifest_name(self) -> str:
        return f"{self.prefix}{MANIFEST_NAME}"

    def attributes(self) -> dict[str, str]:
        return {
            BATCH_ATTRIBUTE: f"gs://{self.bucket}/{self.prefix}",
            ITEM_ATTRIBUTE: str(self.index),
            SIZE_ATTRIBUTE: str(self.size),
        }


def batch_item(attributes: dict[str, str]) -> BatchItem | None:
    """Read the batch attributes of a message; None when it is not a batch item."""
    location = attributes.get(BATCH_ATTRIBUTE)
    if location is None:
        return None
    bucket, _, prefix = location.removeprefix("gs://").partition("/")
    try:
        index = int(attributes.get(ITEM_ATTRIBUTE, ""))
        size = int(attributes.get(SIZE_ATTRIBUTE, ""))
    except ValueError:
        index = size = -1
    if not location.startswith("gs://") or not bucket or not prefix.endswith("/"):
        size = -1
    if not 0 <= index < size:
        logger.warning(
            "Ignoring invalid batch attributes %s; the item is rendered but not "
            "counted in a manifest",
            {key: attributes.get(key) for key in (ITEM_ATTRIBUTE, SIZE_ATTRIBUTE)},
        )
        return None
    return BatchItem(bucket, prefix, index, size)


class BatchLedger:
    """Records item outcomes and writes the manifest when the last item finishes."""

    def __init__(self, records: RecordStore, max_record_bytes: int) -> None:
        self._records = records
        self._max_bytes = max_record_bytes

    def record(self, item: BatchItem, request_id: str, outcome: dict[str, Any]) -> None:
        entry = {
            "index": item.index,
            "request_id": request_id,
            "status": outcome.get("status"),
            "uri": outcome.get("uri"),
            "record_uri": outcome.get("record_uri"),
            "error": outcome.get("error"),
        }
        self._records.create(item.bucket, item.record_name, entry, {})

        finished = list(self._records.names(item.bucket, item.prefix + ITEMS_FOLDER))
        if len(finished) >= item.size:
            self._write_manifest(item, finished)

    def _write_manifest(self, item: BatchItem, names: list[str]) -> None:
        if self._records.read(item.bucket, item.manifest_name, self._max_bytes):
            return

        def read(name: str) -> Any:
            return self._records.read_json(item.bucket, name, self._max_bytes)

        with ThreadPoolExecutor(MANIFEST_READERS) as pool:
            entries = [entry for entry in pool.map(read, sorted(names)) if entry]
        statuses = [entry.get("status") for entry in entries]
        manifest = {
            "batch": f"gs://{item.bucket}/{item.prefix}",
            "size": item.size,
            "rendered": statuses.count("rendered"),
            "failed": statuses.count("failed"),
            "completed_at": datetime.datetime.now(datetime.UTC).isoformat(),
            "items": entries,
        }
        if self._records.create(item.bucket, item.manifest_name, manifest, {}):
            logger.info(
                "Batch gs://%s/%s finished: %d rendered, %d failed",
                item.bucket,
                item.prefix,
                manifest["rendered"],
                manifest["failed"],
            )


@dataclass(frozen=True)
class BatchPlan:
    """A checked batch: its id, where it lands, and one request per item."""

    batch_id: str
    bucket: str
    prefix: str
    requests: list[dict[str, Any]]

    def item(self, index: int) -> BatchItem:
        return BatchItem(self.bucket, self.prefix, index, len(self.requests))

    def request_id(self, index: int) -> str:
        return f"{self.batch_id}-{index:05d}"

    def uri(self, index: int) -> str:
        return f"gs://{self.bucket}/{self.requests[index]['destination']['object']}"

    def to_json(self) -> dict[str, Any]:
        location = f"gs://{self.bucket}/{self.prefix}"
        return {
            "batch_id": self.batch_id,
            "size": len(self.requests),
            "prefix": location,
            "manifest": location + MANIFEST_NAME,
            "items": [
                {
                    "index": index,
                    "request_id": self.request_id(index),
                    "uri": self.uri(index),
                }
                for index in range(len(self.requests))
            ],
        }

    def messages(self) -> list[OutgoingMessage]:
        from eerender.pubsub import OutgoingMessage

        return [
            OutgoingMessage.from_json(
                request,
                {"request_id": self.request_id(index), **self.item(index).attributes()},
            )
            for index, request in enumerate(self.requests)
        ]


def plan_batch(description: Any, settings: Settings) -> BatchPlan:
    """Expand and check a batch description.

    Raises:
        InvalidRequest: the description or one of its items is invalid; ``field``
            points at the item, for example ``/frames/3/palette``.
    """
    if not isinstance(description, dict):
        raise InvalidRequest(
            "A batch must be a JSON object with 'requests', or 'base' with 'frames' "
            "or 'tiles'.",
            code="INVALID_BATCH",
            value=description,
        )
    unknown = sorted(set(description) - set(DESCRIPTION_FIELDS))
    if unknown:
        raise InvalidRequest(
            f"Unknown batch field {unknown[0]!r}; accepted fields are "
            f"{', '.join(DESCRIPTION_FIELDS)}.",
            code="INVALID_BATCH",
            field=f"/{unknown[0]}",
        )

    items, list_name = _expand(description)
    _check_size(items, list_name, settings.batch_max_items)
    bucket = _bucket(description, settings)
    extensions = [
        _extension(item, settings, f"/{list_name}/{index}")
        for index, item in enumerate(items)
    ]

    batch_id = description.get("batch_id") or _derived_id(items)
    _check_batch_id(batch_id)
    prefix = f"{settings.object_prefix}{BATCH_FOLDER}{batch_id}/"
    requests = [
        {
            **item,
            "delivery": "store",
            "destination": {"bucket": bucket, "object": f"{prefix}{index:05d}.{ext}"},
        }
        for index, (item, ext) in enumerate(zip(items, extensions, strict=True))
    ]
    return BatchPlan(batch_id, bucket, prefix, requests)


def publish_batch(
    plan: BatchPlan, topic: str, publisher: Publisher, records: RecordStore
) -> dict[str, Any]:
    """Write the plan next to the results, publish every item, return the receipt."""
    receipt = plan.to_json()
    records.create(
        plan.bucket, plan.prefix + PLAN_NAME, receipt, {"batch-id": plan.batch_id}
    )
    message_ids = publisher.publish(topic, plan.messages())
    logger.info(
        "Published batch %s: %d renders to %s", plan.batch_id, len(message_ids), topic
    )
    return {**receipt, "topic": topic, "message_ids": message_ids}


def _expand(description: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    has_requests = "requests" in description
    has_base = "base" in description
    variations = [name for name in ("frames", "tiles") if name in description]
    if has_requests == has_base or (has_base and len(variations) != 1):
        raise InvalidRequest(
            "A batch has either 'requests' (a list of render requests) or 'base' with "
            "exactly one of 'frames' or 'tiles'.",
            code="INVALID_BATCH",
        )
    if has_requests:
        return _object_list(description["requests"], "requests"), "requests"

    base = description["base"]
    if not isinstance(base, dict):
        raise InvalidRequest(
            "'base' must be a render request object.",
            code="INVALID_BATCH",
            field="/base",
        )
    if variations == ["tiles"]:
        frames = _tile_frames(description["tiles"], base)
    else:
        frames = _object_list(description["frames"], "frames")
    return [_apply_frame(base, frame, index) for index, frame in enumerate(frames)], (
        variations[0]
    )


def _object_list(value: Any, name: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise InvalidRequest(
            f"'{name}' must be a list of JSON objects.",
            code="INVALID_BATCH",
            field=f"/{name}",
        )
    return value


def _check_size(items: list[dict[str, Any]], list_name: str, max_items: int) -> None:
    if not items:
        raise InvalidRequest(
            f"'{list_name}' is empty; a batch needs at least one item.",
            code="INVALID_BATCH",
            field=f"/{list_name}",
        )
    if len(items) > max_items:
        raise InvalidRequest(
            f"The batch has {len(items)} items; the limit is {max_items} "
            "(BATCH_MAX_ITEMS). Split it into smaller batches.",
            code="BATCH_TOO_LARGE",
            field=f"/{list_name}",
            value=len(items),
            limit=max_items,
        )


def _apply_frame(
    base: dict[str, Any], frame: dict[str, Any], index: int
) -> dict[str, Any]:
    overrides = dict(frame)
    parameters = overrides.pop("parameters", None)
    item = {**copy.deepcopy(base), **overrides}
    if parameters is None:
        return item
    if not isinstance(parameters, dict):
        raise InvalidRequest(
            "Frame 'parameters' must be an object of placeholder values.",
            code="INVALID_BATCH",
            field=f"/frames/{index}/parameters",
        )
    item["expression"] = _fill_placeholders(item.get("expression"), parameters, index)
    return item


def _fill_placeholders(expression: Any, parameters: dict[str, Any], index: int) -> Any:
    """Replace ``{{name}}`` in the expression's string constants with frame values.

    A constant that is exactly one placeholder takes the value with its JSON type, so a
    frame can set numbers and lists. Placeholders inside longer strings are replaced
    as text, for example a date inside a file name.
    """
    if isinstance(expression, str):
        try:
            expression = json.loads(expression)
        except json.JSONDecodeError:
            return expression  # the request check reports it with its own message

    used: set[str] = set()
    missing: set[str] = set()

    def fill(text: str) -> Any:
        whole = _PLACEHOLDER.fullmatch(text)
        if whole and whole.group(1) in parameters:
            used.add(whole.group(1))
            return parameters[whole.group(1)]

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in parameters:
                missing.add(name)
                return match.group(0)
            used.add(name)
            return str(parameters[name])

        return _PLACEHOLDER.sub(replace, text)

    # An explicit stack, because expressions can nest deeper than Python recursion.
    stack: list[Any] = [expression]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("constantValue"), str):
                node["constantValue"] = fill(node["constantValue"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)

    _check_placeholders(parameters, used, missing, index)
    return expression


def _check_placeholders(
    parameters: dict[str, Any], used: set[str], missing: set[str], index: int
) -> None:
    if missing:
        raise InvalidRequest(
            f"Frame {index} gives no value for placeholder(s) "
            f"{', '.join(sorted(missing))}; add them to its 'parameters'.",
            code="INVALID_BATCH",
            field=f"/frames/{index}/parameters",
        )
    unused = sorted(set(parameters) - used)
    if unused:
        raise InvalidRequest(
            f"Frame {index} sets {', '.join(unused)}, which the expression does not "
            "use; write them as string constants '{{name}}' in the expression.",
            code="INVALID_BATCH",
            field=f"/frames/{index}/parameters",
        )


def _tile_frames(tiles: Any, base: dict[str, Any]) -> list[dict[str, Any]]:
    """Split a bounding box into columns x rows regions, row by row from the north."""
    if not isinstance(tiles, dict):
        raise InvalidRequest(
            "'tiles' must be an object with 'columns', 'rows' and optionally 'region'.",
            code="INVALID_BATCH",
            field="/tiles",
        )
    columns, rows = tiles.get("columns"), tiles.get("rows")
    for name, count in (("columns", columns), ("rows", rows)):
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise InvalidRequest(
                f"tiles.{name} must be a whole number of at least 1.",
                code="INVALID_BATCH",
                field=f"/tiles/{name}",
                value=count,
            )
    assert isinstance(columns, int) and isinstance(rows, int)
    west, south, east, north = _bounding_box(tiles.get("region", base.get("region")))
    width, height = (east - west) / columns, (north - south) / rows
    return [
        {
            "region": [
                west + column * width,
                north - (row + 1) * height,
                west + (column + 1) * width,
                north - row * height,
            ]
        }
        for row in range(rows)
        for column in range(columns)
    ]


def _bounding_box(region: Any) -> tuple[float, float, float, float]:
    numbers = isinstance(region, list) and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in region
    )
    if (
        not numbers
        or len(region) != 4
        or region[0] >= region[2]
        or region[1] >= region[3]
    ):
        raise InvalidRequest(
            "Tiles need a bounding box [west, south, east, north] in tiles.region or "
            "base.region, with west < east and south < north.",
            code="INVALID_BATCH",
            field="/tiles/region",
            value=region,
        )
    return float(region[0]), float(region[1]), float(region[2]), float(region[3])


def _bucket(description: dict[str, Any], settings: Settings) -> str:
    base = description.get("base") or {}
    destination = base.get("destination") if isinstance(base, dict) else None
    if isinstance(destination, dict) and set(destination) - {"bucket"}:
        raise InvalidRequest(
            "A batch names its result objects itself; give only destination.bucket.",
            code="INVALID_BATCH",
            field="/base/destination",
        )
    bucket = destination.get("bucket") if isinstance(destination, dict) else None
    bucket = bucket or settings.render_bucket
    if not bucket:
        raise InvalidRequest(
            "No bucket for the batch results: set RENDER_BUCKET or base.destination."
            "bucket.",
            code="RENDER_BUCKET_MISSING",
            field="/base/destination",
        )
    return str(bucket)


def _extension(item: dict[str, Any], settings: Settings, pointer: str) -> str:
    if "destination" in item and pointer.startswith("/requests"):
        raise InvalidRequest(
            "Batch requests may not name a destination; results go under the batch "
            "prefix.",
            code="INVALID_BATCH",
            field=f"{pointer}/destination",
        )
    checked = {key: value for key, value in item.items() if key != "destination"}
    checked["delivery"] = "store"
    try:
        return parse_render_request(checked, settings).file_extension
    except RenderError as error:
        raise type(error)(
            f"Batch item {pointer}: {error.message}",
            code=error.code,
            field=pointer + (error.field or ""),
            value=error.value,
            limit=error.limit,
        ) from error


def _derived_id(items: list[dict[str, Any]]) -> str:
    # The same batch gets the same id, so publishing it again reuses its results.
    canonical = json.dumps(items, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def _check_batch_id(batch_id: Any) -> None:
    if not isinstance(batch_id, str) or not _BATCH_ID.fullmatch(batch_id):
        raise InvalidRequest(
            "batch_id must be 1 to 63 lower-case letters, digits, '-' or '_', "
            "starting with a letter or digit.",
            code="INVALID_BATCH",
            field="/batch_id",
            value=batch_id,
        )
