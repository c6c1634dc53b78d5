"""The expression policy on what expressions read and call, and the redirect check.

The function calls Earth Engine with its own service account, so an expression can
read every asset and every Cloud Storage object that account can see. The expression
policy limits that, before Earth Engine is called, on every trigger:

- ``RENDER_ALLOWED_ASSET_PREFIXES``: asset ids that ``Image.load`` and the other asset
  loaders may name;
- ``RENDER_ALLOWED_SOURCE_BUCKETS``: buckets whose ``gs://`` objects
  ``Image.loadGeoTIFF`` and the other URI loaders may read;
- ``RENDER_ALLOWED_ALGORITHMS``: the algorithms an expression may call.

Each setting is ``*`` (allow all, the default), a comma-separated list, or empty (allow
none). Under a list, an asset id or URI must be a constant: a computed one cannot be
checked before Earth Engine evaluates it.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from eerender.errors import ConfigurationError, Forbidden
from eerender.validation import child, excerpt

if TYPE_CHECKING:
    from eerender.config import Settings

logger = logging.getLogger(__name__)

# Algorithms that read an Earth Engine asset, with the argument naming it.
ASSET_LOADERS = {
    "Image.load": "id",
    "ImageCollection.load": "id",
    "Collection.loadTable": "tableId",
    "FeatureCollection.load": "tableId",
    "Classifier.load": "id",
}
# Algorithms that read a Cloud Storage object, with the argument holding its gs:// URI.
URI_LOADERS = {
    "Image.loadGeoTIFF": "uri",
    "Image.loadMosaic": "uri",
    "Image.loadZarrV2Array": "uri",
    "ImageCollection.loadZarrV2Array": "uri",
    "SerializableZarrV2ArrayImage": "uri",
    "Blob": "url",
}
# Algorithms that run BigQuery jobs or Vertex AI predictions billed to the function's
# project. '*' does not allow them; RENDER_ALLOWED_ALGORITHMS must name each one.
BILLED_ELSEWHERE = frozenset(
    {
        "FeatureCollection.loadBigQueryTable",
        "FeatureCollection.runBigQuery",
        "Model.fromVertexAi",
        "Model.fromAiPlatformPredictor",
    }
)

# Catalog ids have two spellings: "USGS/SRTMGL1_003" and
# "projects/earthengine-public/assets/USGS/SRTMGL1_003" (likewise legacy "users/..."
# ids), so ids and prefixes are compared in the short form.
_CATALOG_ROOTS = (
    "projects/earthengine-public/assets/",
    "projects/earthengine-legacy/assets/",
)
_ASSET_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_ALGORITHM = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*(\.\*)?")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]")
_SHOWN_ENTRIES = 10

ASSET_NOT_ALLOWED = "ASSET_NOT_ALLOWED"
SOURCE_BUCKET_NOT_ALLOWED = "SOURCE_BUCKET_NOT_ALLOWED"
ALGORITHM_NOT_ALLOWED = "ALGORITHM_NOT_ALLOWED"
SOURCE_NOT_CONSTANT = "SOURCE_NOT_CONSTANT"


@dataclass(frozen=True)
class ExpressionPolicy:
    """The checked allow-lists; ``None`` allows everything, an empty set nothing."""

    asset_prefixes: frozenset[str] | None = None
    source_buckets: frozenset[str] | None = None
    algorithms: frozenset[str] | None = None

    @property
    def allows_everything(self) -> bool:
        return self.asset_prefixes is None and self.source_buckets is None

    def asset_allowed(self, asset_id: str) -> bool:
        if self.asset_prefixes is None:
            return True
        return any(_matches(asset_id, prefix) for prefix in self.asset_prefixes)

    def algorithm_allowed(self, name: str) -> bool:
        if self.algorithms is None:
            return name not in BILLED_ELSEWHERE
        family = name.rsplit(".", 1)[0] + ".*"
        if name in BILLED_ELSEWHERE:
            return name in self.algorithms
        return name in self.algorithms or family in self.algorithms


def _matches(asset_id: str, prefix: str) -> bool:
    # "COPERNICUS/S2*" matches by characters; "USGS" matches whole path segments.
    if prefix.endswith("*"):
        return asset_id.startswith(prefix[:-1])
    return asset_id == prefix or asset_id.startswith(prefix + "/")


def policy_for(settings: Settings) -> ExpressionPolicy:
    """Return the checked policy of ``settings``; log it the first time.

    Raises:
        ConfigurationError: for a malformed prefix, bucket or algorithm name.
    """
    return _build_policy(
        settings.allowed_asset_prefixes,
        settings.allowed_source_buckets,
        settings.allowed_algorithms,
    )


@functools.lru_cache(maxsize=8)
def _build_policy(
    prefixes: frozenset[str] | None,
    buckets: frozenset[str] | None,
    algorithms: frozenset[str] | None,
) -> ExpressionPolicy:
    policy = ExpressionPolicy(
        asset_prefixes=_checked_prefixes(prefixes),
        source_buckets=_checked_entries(
            buckets, _BUCKET, "RENDER_ALLOWED_SOURCE_BUCKETS", "a bucket name"
        ),
        algorithms=_checked_entries(
            algorithms,
            _ALGORITHM,
            "RENDER_ALLOWED_ALGORITHMS",
            "an algorithm name such as Image.load or a family such as Image.*",
        ),
    )
    _announce(policy)
    return policy


def _checked_prefixes(prefixes: frozenset[str] | None) -> frozenset[str] | None:
    if prefixes is None:
        return None
    checked = set()
    for prefix in prefixes:
        stem = prefix[:-1] if prefix.endswith("*") else prefix.rstrip("/")
        short = _short_id(stem.rstrip("/"))
        if short is None:
            raise ConfigurationError(
                f"RENDER_ALLOWED_ASSET_PREFIXES entry {prefix!r} is not an asset id "
                "prefix such as USGS/SRTMGL1_003, projects/my-project/assets/public "
                "or COPERNICUS/S2*.",
                code="INVALID_CONFIGURATION",
                field="RENDER_ALLOWED_ASSET_PREFIXES",
            )
        folder = "/" if stem.endswith("/") else ""
        checked.add(short + folder + ("*" if prefix.endswith("*") else ""))
    return frozenset(checked)


def _checked_entries(
    entries: frozenset[str] | None, pattern: re.Pattern[str], name: str, form: str
) -> frozenset[str] | None:
    if entries is None:
        return None
    for entry in entries:
        if not pattern.fullmatch(entry):
            raise ConfigurationError(
                f"{name} entry {entry!r} is not {form}.",
                code="INVALID_CONFIGURATION",
                field=name,
            )
    return entries


def _announce(policy: ExpressionPolicy) -> None:
    if policy.asset_prefixes is None:
        logger.warning(
            "RENDER_ALLOWED_ASSET_PREFIXES is '*': expressions may load every asset "
            "the service account can read. Set it to the catalog prefixes you serve."
        )
    if policy.source_buckets is None:
        logger.warning(
            "RENDER_ALLOWED_SOURCE_BUCKETS is '*': expressions may read gs:// objects "
            "in every bucket the service account can read. Set it to the buckets "
            "that hold source images."
        )
    logger.info(
        "Expression policy: %s asset prefix(es), %s source bucket(s), %s algorithm(s)",
        _count(policy.asset_prefixes),
        _count(policy.source_buckets),
        _count(policy.algorithms),
    )


def _count(entries: frozenset[str] | None) -> str:
    return "all" if entries is None else str(len(entries))


def check_expression(raw: object, field: str, settings: Settings) -> None:
    """Reject an expression that loads or calls what the policy does not allow.

    Args:
        raw: The expression as the request sent it, already checked by
            ``eerender.expression.parse_expression``.
        field: JSON pointer of the expression in the request.
        settings: Supplies the allow-lists.

    Raises:
        Forbidden: ``ASSET_NOT_ALLOWED``, ``SOURCE_BUCKET_NOT_ALLOWED``,
            ``ALGORITHM_NOT_ALLOWED`` or ``SOURCE_NOT_CONSTANT``, with ``field`` set to
            the JSON pointer of the node at fault.
        ConfigurationError: for malformed allow-lists.
    """
    policy = policy_for(settings)
    data = json.loads(raw) if isinstance(raw, str) else raw
    if not isinstance(data, dict):
        return  # parse_expression has rejected it already
    values = data.get("values")
    roots = (
        [(node, child(field, "values", name)) for name, node in values.items()]
        if isinstance(values, dict)
        else [(data, field)]
    )
    for name, arguments, where in _invocations(roots):
        _check_invocation(policy, name, arguments, where, values or {})


def _invocations(
    roots: list[tuple[Any, str]],
) -> Iterator[tuple[str, dict[str, Any], str]]:
    """Yield (algorithm, arguments, pointer) of every named call, without recursion."""
    stack = list(roots)
    while stack:
        node, where = stack.pop()
        if not isinstance(node, dict) or len(node) != 1:
            continue
        kind, content = next(iter(node.items()))
        where = child(where, kind)
        if not isinstance(content, dict):
            continue
        if kind in ("arrayValue", "dictionaryValue"):
            stack.extend(_members(content.get("values"), where))
        elif kind == "functionDefinitionValue":
            stack.append((content.get("body"), child(where, "body")))
        elif kind == "functionInvocationValue":
            stack.append(
                (content.get("functionReference"), child(where, "functionReference"))
            )
            arguments = content.get("arguments")
            if not isinstance(arguments, dict):
                arguments = {}
            stack.extend(
                (item, child(where, "arguments", key))
                for key, item in arguments.items()
            )
            if isinstance(content.get("functionName"), str):
                yield content["functionName"], arguments, where


def _members(members: object, where: str) -> list[tuple[Any, str]]:
    if isinstance(members, dict):
        return [(item, child(where, "values", key)) for key, item in members.items()]
    if isinstance(members, list):
        return [(item, child(where, "values", i)) for i, item in enumerate(members)]
    return []


def _check_invocation(
    policy: ExpressionPolicy,
    name: str,
    arguments: dict[str, Any],
    where: str,
    values: dict[str, Any],
) -> None:
    if not policy.algorithm_allowed(name):
        raise _algorithm_rejected(name, policy, child(where, "functionName"))
    if name in ASSET_LOADERS and policy.asset_prefixes is not None:
        argument = ASSET_LOADERS[name]
        at = child(where, "arguments", argument)
        asset_id = _constant_text(arguments.get(argument), values, name, at)
        if asset_id is not None:
            _check_asset(policy, asset_id, at)
    if name in URI_LOADERS and policy.source_buckets is not None:
        argument = URI_LOADERS[name]
        at = child(where, "arguments", argument)
        uri = _constant_text(arguments.get(argument), values, name, at)
        if uri is not None:
            _check_uri(policy, uri, at)


def _constant_text(
    node: object, values: dict[str, Any], algorithm: str, where: str
) -> str | None:
    """Return the string an argument node stands for, following named values.

    ``None`` means the argument is absent, which Earth Engine itself rejects.
    """
    # Bounded, because values that no result reaches are not checked for cycles.
    for _ in range(len(values) + 1):
        if node is None:
            return None
        if isinstance(node, dict) and isinstance(node.get("valueReference"), str):
            node = values.get(node["valueReference"])
            continue
        break
    constant = node.get("constantValue") if isinstance(node, dict) else None
    if isinstance(constant, str):
        return constant
    raise Forbidden(
        f"{algorithm} at {where} takes a computed value. While an allow-list is set, "
        "asset ids and gs:// URIs must be constant strings so they can be checked "
        "before Earth Engine runs; send the id itself.",
        code=SOURCE_NOT_CONSTANT,
        field=where,
        value=excerpt(node),
    )


def _check_asset(policy: ExpressionPolicy, asset_id: str, where: str) -> None:
    short = _short_id(asset_id)
    if short is not None and policy.asset_allowed(short):
        return
    allowed = _shown(policy.asset_prefixes)
    raise Forbidden(
        f"Asset {excerpt(asset_id)} at {where} is not allowed here. Allowed asset id "
        f"prefixes: {allowed}. An operator allows more with "
        "RENDER_ALLOWED_ASSET_PREFIXES (comma-separated, '*' for all).",
        code=ASSET_NOT_ALLOWED,
        field=where,
        value=asset_id,
    )


def _short_id(asset_id: str) -> str | None:
    """Return the id without a catalog root, or ``None`` for a malformed id.

    Malformed ids (empty, '.' or '..' segments, spaces, control or look-alike
    characters) are never allowed, so no spelling can slip past a prefix.
    """
    for root in _CATALOG_ROOTS:
        if asset_id.startswith(root):
            asset_id = asset_id[len(root) :]
            break
    # A segment starts with a letter, digit or '_', so '.' and '..' never match.
    if not all(_ASSET_SEGMENT.fullmatch(part) for part in asset_id.split("/")):
        return None
    return asset_id


def _check_uri(policy: ExpressionPolicy, uri: str, where: str) -> None:
    bucket = _gs_bucket(uri)
    buckets = policy.source_buckets or frozenset()
    if bucket is not None and bucket in buckets:
        return
    raise Forbidden(
        f"{excerpt(uri)} at {where} is not in an allowed bucket. Allowed buckets: "
        f"{_shown(buckets)}; an operator allows more with "
        "RENDER_ALLOWED_SOURCE_BUCKETS (comma-separated, '*' for all).",
        code=SOURCE_BUCKET_NOT_ALLOWED,
        field=where,
        value=uri,
    )


def _gs_bucket(uri: str) -> str | None:
    if not uri.startswith("gs://"):
        return None
    bucket, _, name = uri[len("gs://") :].partition("/")
    if not _BUCKET.fullmatch(bucket) or not name:
        return None
    return bucket


def _algorithm_rejected(name: str, policy: ExpressionPolicy, where: str) -> Forbidden:
    if name in BILLED_ELSEWHERE:
        reason = (
            "it runs BigQuery or Vertex AI work billed to this deployment, so "
            "RENDER_ALLOWED_ALGORITHMS must name it"
        )
    else:
        reason = (
            f"allowed algorithms: {_shown(policy.algorithms)}; an operator allows "
            "more with RENDER_ALLOWED_ALGORITHMS"
        )
    return Forbidden(
        f"Algorithm {excerpt(name)} at {where} is not allowed: {reason}.",
        code=ALGORITHM_NOT_ALLOWED,
        field=where,
        value=name,
    )


def _shown(entries: frozenset[str] | None) -> str:
    if entries is None:
        return "all"
    if not entries:
        return "none"
    listed = sorted(entries)
    more = len(listed) - _SHOWN_ENTRIES
    return ", ".join(listed[:_SHOWN_ENTRIES]) + (
        f" and {more} more" if more > 0 else ""
    )


def storage_endpoint() -> str:
    """Return the origin of signed Cloud Storage URLs, as google-cloud-storage picks it.

    The library sends every call, and signs every URL, for STORAGE_EMULATOR_HOST when
    that variable is set.
    """
    return os.environ.get("STORAGE_EMULATOR_HOST") or "https://storage.googleapis.com"


def check_redirect(url: str, settings: Settings, storage_origin: str = "") -> None:
    """Reject a redirect target other than Earth Engine or an allowed bucket's object.

    Args:
        url: The ``Location`` about to be sent.
        settings: Supplies the Earth Engine URL and the buckets renders go to.
        storage_origin: Origin of signed Cloud Storage URLs; by default
            ``storage_endpoint()``.

    Raises:
        ConfigurationError: ``REDIRECT_NOT_ALLOWED``. A target elsewhere can only come
            from a misconfigured endpoint or an unexpected upstream response, never
            from the caller.
    """
    if _same_origin(url, settings.ee_api_url + "/"):
        return
    if _same_origin(url, (storage_origin or storage_endpoint()).rstrip("/") + "/"):
        bucket = urlsplit(url).path.lstrip("/").split("/", 1)[0]
        if settings.bucket_allowed(bucket):
            return
    logger.error(
        "Refused to redirect to %s: it is neither Earth Engine nor an allowed bucket",
        excerpt(urlsplit(url)._replace(query="", fragment="").geturl()),
    )
    raise ConfigurationError(
        "The render produced a redirect to an unexpected host, so it was not sent. "
        "Check EE_API_URL and the storage endpoint.",
        code="REDIRECT_NOT_ALLOWED",
    )


def _same_origin(url: str, base: str) -> bool:
    if any(ord(character) < 0x21 or character == "\\" for character in url):
        return False
    target, expected = urlsplit(url), urlsplit(base)
    return (
        url.startswith(base)
        and target.scheme == expected.scheme
        and target.netloc == expected.netloc
        and not target.username
        and not target.password
    )
