"""Settings read from the environment, declared once for code, docs and Terraform.

Every variable the product reads is listed in ``ENVIRONMENT`` with the functions that
read it, so the Terraform checks can prove each deployed function gets exactly what its
code reads.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from eerender.errors import ConfigurationError

MIB = 1024 * 1024
_KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")

# Function groups, named after the entry points in main.py.
RENDER = ("render_http", "render_pubsub", "render_storage", "chat_google", "chat_slack")
HTTP = ("render_http",)
EVENTS = ("render_pubsub", "render_storage")
# The chat apps: Google Chat events and Slack slash commands.
CHAT = ("chat_google", "chat_slack")
# Functions that publish to Pub/Sub: batches from HTTP, results from the event triggers,
# renders handed off by the chat apps.
PUBLISHERS = ("render_http", "render_pubsub", "render_storage", *CHAT)


@dataclass(frozen=True)
class EnvVar:
    """One environment variable: its default, meaning and the functions that read it."""

    name: str
    default: str | None
    description: str
    functions: tuple[str, ...]
    secret: bool = False
    local_only: bool = False
    # What the value names and the access the code needs to it, for the IAM checks:
    # "bucket:read", "bucket:write", "topic:publish", "service_account:sign".
    access: str = ""


ENVIRONMENT: dict[str, EnvVar] = {
    var.name: var
    for var in (
        EnvVar(
            "EE_PROJECT", None, "Cloud project charged for Earth Engine calls.", RENDER
        ),
        EnvVar(
            "EE_API_URL",
            "https://earthengine.googleapis.com",
            "Earth Engine endpoint; the high-volume host suits automated traffic.",
            RENDER,
        ),
        EnvVar("EE_API_VERSION", "v1", "Earth Engine REST API version.", RENDER),
        EnvVar(
            "EE_LOCATION", "", "Region for the regional thumbnails.create form.", RENDER
        ),
        EnvVar(
            "EE_WORKLOAD_TAG", "", "workloadTag sent with each computation.", RENDER
        ),
        EnvVar(
            "EE_API_KEY",
            "",
            "API key appended to pixel URLs as key=, so they work outside the project.",
            RENDER,
            secret=True,
        ),
        EnvVar(
            "EE_STATIC_TOKEN",
            "",
            "Bearer token for a local Earth Engine stand-in; refused for other hosts.",
            RENDER,
            local_only=True,
        ),
        EnvVar("EE_CONNECT_TIMEOUT", "5", "Seconds to open a connection.", RENDER),
        EnvVar("EE_READ_TIMEOUT", "120", "Seconds to wait for response bytes.", RENDER),
        EnvVar(
            "EE_DEADLINE",
            "50",
            "Seconds one render may spend, retries included.",
            RENDER,
        ),
        EnvVar(
            "EE_MAX_ATTEMPTS", "5", "Attempts per call, the first included.", RENDER
        ),
        EnvVar(
            "RENDER_BUCKET",
            "",
            "Default bucket for stored renders.",
            RENDER,
            access="bucket:write",
        ),
        EnvVar(
            "RENDER_ALLOWED_BUCKETS",
            "",
            "Comma-separated buckets a request may name; RENDER_BUCKET always may.",
            RENDER,
            access="bucket:write",
        ),
        EnvVar(
            "RENDER_OBJECT_PREFIX", "renders/", "Prefix of stored render names.", RENDER
        ),
        EnvVar(
            "RENDER_CACHE_CONTROL",
            "private, max-age=86400",
            "Cache-Control set on stored renders.",
            RENDER,
        ),
        EnvVar(
            "RENDER_MAX_BODY_BYTES",
            str(10 * MIB),
            "Largest request body accepted.",
            RENDER,
        ),
        EnvVar(
            "RENDER_MAX_NODES",
            "5000",
            "Most expression nodes a request may hold.",
            RENDER,
        ),
        EnvVar(
            "RENDER_MAX_DEPTH", "100", "Deepest expression nesting accepted.", RENDER
        ),
        EnvVar(
            "RENDER_MAX_OUTPUT_BYTES",
            str(48 * MIB),
            "Largest uncompressed output: width x height x bands x bytes per band.",
            RENDER,
        ),
        EnvVar(
            "RENDER_MAX_GRID_SIDE", "32768", "Most pixels along either side.", RENDER
        ),
        EnvVar("RENDER_MAX_BANDS", "1024", "Most bands in one output.", RENDER),
        EnvVar(
            "RENDER_MAX_REGION_VERTICES",
            "10000",
            "Most vertices an inline region may have; larger ones belong in an asset.",
            RENDER,
        ),
        EnvVar(
            "RENDER_DEFAULT_DIMENSIONS",
            "1024",
            "Longest side applied when a request gives neither dimensions nor scale.",
            RENDER,
        ),
        EnvVar(
            "STORE_CHUNK_BYTES",
            str(8 * MIB),
            "Upload chunk size; bounds the memory one stored render holds.",
            RENDER,
        ),
        EnvVar(
            "SIGNED_URL_SERVICE_ACCOUNT",
            "",
            "Service account that signs V4 URLs of stored renders; empty: no signing.",
            RENDER,
            access="service_account:sign",
        ),
        EnvVar("SIGNED_URL_TTL", "3600", "Seconds a signed URL stays valid.", RENDER),
        EnvVar(
            "IAM_CREDENTIALS_URL",
            "https://iamcredentials.googleapis.com",
            "IAM Service Account Credentials endpoint used to sign URLs.",
            RENDER,
        ),
        EnvVar(
            "REDIRECT_MAX_AGE",
            "600",
            "Cache-Control max-age of redirects, well under a thumbnail's lifetime.",
            HTTP,
        ),
        EnvVar(
            "THUMBNAIL_CACHE_SECONDS",
            "1800",
            "Seconds a thumbnail id is reused for identical requests; 0 turns it off.",
            RENDER,
        ),
        EnvVar(
            "CORS_ALLOWED_ORIGINS",
            "",
            "Comma-separated browser origins allowed to call the HTTP function.",
            HTTP,
        ),
        EnvVar(
            "STARTUP_CHECK",
            "true",
            "Whether a cold start checks in the background that Earth Engine renders.",
            RENDER,
        ),
        EnvVar("LOG_LEVEL", "INFO", "Lowest log severity written.", RENDER),
        EnvVar(
            "PUBSUB_API_URL",
            "https://pubsub.googleapis.com",
            "Pub/Sub REST endpoint used to publish batch items and results.",
            PUBLISHERS,
        ),
        EnvVar(
            "PUBSUB_TIMEOUT", "10", "Seconds one Pub/Sub publish may take.", PUBLISHERS
        ),
        EnvVar(
            "REQUEST_TOPIC",
            "",
            "Topic that POST /batch publishes one render request to per item, and "
            "that the chat apps hand slow renders to.",
            HTTP + CHAT,
            access="topic:publish",
        ),
        EnvVar(
            "RESULTS_TOPIC",
            "",
            "Topic that announces each stored render and each recorded failure; "
            "empty turns announcements off.",
            EVENTS,
            access="topic:publish",
        ),
        EnvVar(
            "EVENT_MAX_AGE",
            "86400",
            "Seconds after which an undelivered event is dropped and recorded as a "
            "failure; 0 keeps events of any age.",
            EVENTS,
        ),
        EnvVar(
            "REQUEST_PREFIX",
            "requests/",
            "Prefix of render request files that the bucket trigger renders.",
            ("render_storage",),
        ),
        EnvVar(
            "GEOTIFF_PREVIEW",
            '{"dimensions": 512, "format": "png"}',
            "getThumbURL-style parameters (JSON object) of the preview rendered for "
            "each uploaded GeoTIFF.",
            ("render_storage",),
        ),
        EnvVar(
            "RECIPE_DIR",
            "",
            "Folder of recipe files (JSON); empty: the recipes/ folder shipped with "
            "the code.",
            RENDER,
        ),
        EnvVar(
            "RECIPE_VARIANT",
            "",
            "Recipe variant to apply: 'standin' for the local Earth Engine stand-in's "
            "assets; empty on Earth Engine.",
            RENDER,
            local_only=True,
        ),
        EnvVar(
            "CHAT_AUDIENCE",
            "",
            "Authentication audience of the Google Chat app: the project number or "
            "the function's URL, as set in the Chat API configuration.",
            ("chat_google",),
        ),
        EnvVar(
            "CHAT_CERTS_URL",
            "",
            "Certificates (JSON, key id to PEM) that sign Chat's tokens; empty: "
            "Google's URL for the audience type.",
            ("chat_google",),
        ),
        EnvVar(
            "CHAT_API_URL",
            "https://chat.googleapis.com",
            "Google Chat API endpoint that slow renders are posted through.",
            ("chat_google",),
        ),
        EnvVar(
            "CHAT_REPLY_SECONDS",
            "20",
            "Seconds a Chat render may take before the reply becomes an "
            "acknowledgement and the image is posted later.",
            ("chat_google",),
        ),
        EnvVar(
            "SLACK_SIGNING_SECRET",
            "",
            "Signing secret of the Slack app, which Slack signs each request with.",
            ("chat_slack",),
            secret=True,
        ),
        EnvVar(
            "SLACK_RESPONSE_URL_PREFIXES",
            "https://hooks.slack.com/",
            "Comma-separated URL prefixes that a Slack response_url must start with.",
            ("chat_slack",),
        ),
        EnvVar(
            "COMMAND_REPEAT_SECONDS",
            "120",
            "Seconds in which the same chat command from the same user is answered "
            "as a repeat, without a second render or post.",
            CHAT,
        ),
        EnvVar(
            "PUSH_AUDIENCE",
            "",
            "Audience of the ID tokens on result pushes: this function's URL.",
            CHAT,
        ),
        EnvVar(
            "PUSH_SERVICE_ACCOUNT",
            "",
            "Service account whose ID tokens result pushes carry.",
            CHAT,
        ),
        EnvVar(
            "ID_TOKEN_CERTS_URL",
            "https://www.googleapis.com/oauth2/v1/certs",
            "Certificates (JSON, key id to PEM) that sign Google ID tokens.",
            CHAT,
        ),
        EnvVar(
            "TOKENS_CHECKED_BY_CLOUD_RUN",
            "false",
            "Set only on a private function: Cloud Run has checked the caller's ID "
            "token and removed its signature, so the claims are checked without it.",
            CHAT,
        ),
        EnvVar(
            "PUSH_UNSIGNED_LOCAL",
            "false",
            "Accept result pushes without a token from 127.0.0.1; refused unless "
            "PUBSUB_API_URL is a loopback address.",
            CHAT,
            local_only=True,
        ),
        EnvVar(
            "BATCH_MAX_ITEMS",
            "1000",
            "Maximum number of renders one POST /batch may publish.",
            HTTP,
        ),
        EnvVar(
            "RENDER_ALLOWED_ASSET_PREFIXES",
            "*",
            "Comma-separated Earth Engine asset id prefixes an expression may load; "
            "'*' allows every asset, an empty value none.",
            RENDER,
        ),
        EnvVar(
            "RENDER_ALLOWED_SOURCE_BUCKETS",
            "*",
            "Comma-separated buckets whose gs:// objects an expression may read "
            "(Image.loadGeoTIFF and the other URI loaders); '*' allows every bucket, "
            "an empty value none.",
            RENDER,
        ),
        EnvVar(
            "RENDER_ALLOWED_ALGORITHMS",
            "*",
            "Comma-separated Earth Engine algorithms an expression may call, "
            "'Family.*' for a family; '*' allows all but the BigQuery and Vertex AI "
            "ones, which must be named.",
            RENDER,
        ),
        EnvVar(
            "HTTP_AUTH_MODES",
            "iam",
            "How the HTTP function authenticates callers: 'iam' (Cloud Run IAM, no "
            "check in code), or 'hmac', 'signed-link' or both, comma-separated.",
            HTTP,
        ),
        EnvVar(
            "HTTP_HMAC_KEYS",
            "",
            "Comma-separated KEY_ID:SECRET pairs that sign webhook requests "
            "(X-Render-Signature); secrets of at least 32 characters.",
            HTTP,
            secret=True,
        ),
        EnvVar(
            "HTTP_HMAC_MAX_SKEW",
            "300",
            "Seconds a signed webhook's X-Render-Timestamp may differ from the clock.",
            HTTP,
        ),
        EnvVar(
            "HTTP_LINK_KEYS",
            "",
            "Comma-separated KEY_ID:SECRET pairs that sign GET links "
            "(expires, signature); secrets of at least 32 characters.",
            HTTP,
            secret=True,
        ),
        EnvVar(
            "HTTP_TRUSTED_PROXY_HOPS",
            "1",
            "Proxies that append to X-Forwarded-For in front of the function; the "
            "client address is that many entries from the right.",
            HTTP,
        ),
        EnvVar(
            "HTTP_RATE_LIMIT",
            "0",
            "Requests per minute each caller may make to one instance; 0 turns the "
            "limit off.",
            HTTP,
        ),
        EnvVar(
            "HTTP_RATE_BURST",
            "20",
            "Requests a caller may make at once before HTTP_RATE_LIMIT applies.",
            HTTP,
        ),
        EnvVar(
            "HTTP_MAX_PIXELS",
            "0",
            "Largest output, in pixels (width x height), one HTTP request may ask "
            "for; 0 leaves only the output size limits.",
            HTTP,
        ),
    )
}


def is_loopback(url: str) -> bool:
    """Return whether ``url`` points at this machine (localhost or a loopback IP)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Settings:
    """Validated settings. Build with ``Settings.from_environ``."""

    ee_project: str
    ee_api_url: str = "https://earthengine.googleapis.com"
    ee_api_version: str = "v1"
    ee_location: str = ""
    ee_workload_tag: str = ""
    ee_api_key: str = field(default="", repr=False)
    ee_static_token: str = field(default="", repr=False)
    ee_connect_timeout: float = 5.0
    ee_read_timeout: float = 120.0
    ee_deadline: float = 50.0
    ee_max_attempts: int = 5
    render_bucket: str = ""
    allowed_buckets: frozenset[str] = frozenset()
    object_prefix: str = "renders/"
    cache_control: str = "private, max-age=86400"
    max_body_bytes: int = 10 * MIB
    max_nodes: int = 5000
    max_depth: int = 100
    max_output_bytes: int = 48 * MIB
    max_grid_side: int = 32768
    max_bands: int = 1024
    max_region_vertices: int = 10000
    default_dimensions: int = 1024
    store_chunk_bytes: int = 8 * MIB
    signed_url_service_account: str = ""
    signed_url_ttl: int = 3600
    iam_credentials_url: str = "https://iamcredentials.googleapis.com"
    redirect_max_age: int = 600
    thumbnail_cache_seconds: int = 1800
    cors_allowed_origins: frozenset[str] = frozenset()
    log_level: str = "INFO"
    startup_check: bool = True
    pubsub_api_url: str = "https://pubsub.googleapis.com"
    pubsub_timeout: float = 10.0
    request_topic: str = ""
    results_topic: str = ""
    event_max_age: int = 86400
    request_prefix: str = "requests/"
    # Left out of the hash so Settings stays usable as a cache key.
    geotiff_preview: Mapping[str, Any] = field(
        default_factory=lambda: {"dimensions": 512, "format": "png"}, hash=False
    )
    batch_max_items: int = 1000
    recipe_dir: str = ""
    recipe_variant: str = ""
    chat_audience: str = ""
    chat_certs_url: str = ""
    chat_api_url: str = "https://chat.googleapis.com"
    chat_reply_seconds: float = 20.0
    slack_signing_secret: str = field(default="", repr=False)
    slack_response_url_prefixes: tuple[str, ...] = ("https://hooks.slack.com/",)
    command_repeat_seconds: int = 120
    push_audience: str = ""
    push_service_account: str = ""
    id_token_certs_url: str = "https://www.googleapis.com/oauth2/v1/certs"
    push_unsigned_local: bool = False
    tokens_checked_by_cloud_run: bool = False
    # None allows everything; an empty set allows nothing. See eerender.policy.
    allowed_asset_prefixes: frozenset[str] | None = None
    allowed_source_buckets: frozenset[str] | None = None
    allowed_algorithms: frozenset[str] | None = None
    http_auth_modes: frozenset[str] = frozenset({"iam"})
    hmac_keys: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    hmac_max_skew: int = 300
    link_keys: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    trusted_proxy_hops: int = 1
    rate_limit_per_minute: int = 0
    rate_burst: int = 20
    max_pixels: int = 0

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read and check every setting; raise ConfigurationError listing problems."""
        env = _Reader(os.environ if environ is None else environ)
        render_bucket = env.text("RENDER_BUCKET")
        settings = cls(
            ee_project=env.required("EE_PROJECT"),
            ee_api_url=env.text("EE_API_URL").rstrip("/"),
            ee_api_version=env.text("EE_API_VERSION"),
            ee_location=env.text("EE_LOCATION"),
            ee_workload_tag=env.text("EE_WORKLOAD_TAG"),
            ee_api_key=env.text("EE_API_KEY"),
            ee_static_token=env.text("EE_STATIC_TOKEN"),
            ee_connect_timeout=env.number("EE_CONNECT_TIMEOUT"),
            ee_read_timeout=env.number("EE_READ_TIMEOUT"),
            ee_deadline=env.number("EE_DEADLINE"),
            ee_max_attempts=env.integer("EE_MAX_ATTEMPTS", minimum=1),
            render_bucket=render_bucket,
            allowed_buckets=frozenset(
                {*env.items("RENDER_ALLOWED_BUCKETS"), render_bucket} - {""}
            ),
            object_prefix=env.text("RENDER_OBJECT_PREFIX"),
            cache_control=env.text("RENDER_CACHE_CONTROL"),
            max_body_bytes=env.integer("RENDER_MAX_BODY_BYTES", minimum=1024),
            max_nodes=env.integer("RENDER_MAX_NODES", minimum=1),
            max_depth=env.integer("RENDER_MAX_DEPTH", minimum=1),
            max_output_bytes=env.integer("RENDER_MAX_OUTPUT_BYTES", minimum=1),
            max_grid_side=env.integer("RENDER_MAX_GRID_SIDE", minimum=1),
            max_bands=env.integer("RENDER_MAX_BANDS", minimum=1),
            max_region_vertices=env.integer("RENDER_MAX_REGION_VERTICES", minimum=3),
            default_dimensions=env.integer("RENDER_DEFAULT_DIMENSIONS", minimum=1),
            store_chunk_bytes=env.chunk_size("STORE_CHUNK_BYTES"),
            signed_url_service_account=env.text("SIGNED_URL_SERVICE_ACCOUNT"),
            signed_url_ttl=env.integer("SIGNED_URL_TTL", minimum=1, maximum=604800),
            iam_credentials_url=env.text("IAM_CREDENTIALS_URL").rstrip("/"),
            redirect_max_age=env.integer("REDIRECT_MAX_AGE", minimum=0),
            # Earth Engine keeps thumbnail ids for "a few hours"; stay well inside that.
            thumbnail_cache_seconds=env.integer(
                "THUMBNAIL_CACHE_SECONDS", minimum=0, maximum=3 * 3600
            ),
            cors_allowed_origins=frozenset(env.items("CORS_ALLOWED_ORIGINS")),
            log_level=env.text("LOG_LEVEL").upper(),
            startup_check=env.flag("STARTUP_CHECK"),
            pubsub_api_url=env.text("PUBSUB_API_URL").rstrip("/"),
            pubsub_timeout=env.number("PUBSUB_TIMEOUT"),
            request_topic=env.text("REQUEST_TOPIC"),
            results_topic=env.text("RESULTS_TOPIC"),
            event_max_age=env.integer("EVENT_MAX_AGE", minimum=0),
            request_prefix=env.text("REQUEST_PREFIX"),
            geotiff_preview=env.json_object("GEOTIFF_PREVIEW"),
            batch_max_items=env.integer("BATCH_MAX_ITEMS", minimum=1),
            recipe_dir=env.text("RECIPE_DIR"),
            recipe_variant=env.text("RECIPE_VARIANT"),
            chat_audience=env.text("CHAT_AUDIENCE"),
            chat_certs_url=env.text("CHAT_CERTS_URL"),
            chat_api_url=env.text("CHAT_API_URL").rstrip("/"),
            chat_reply_seconds=env.number("CHAT_REPLY_SECONDS"),
            slack_signing_secret=env.text("SLACK_SIGNING_SECRET"),
            slack_response_url_prefixes=tuple(env.items("SLACK_RESPONSE_URL_PREFIXES")),
            command_repeat_seconds=env.integer("COMMAND_REPEAT_SECONDS", minimum=0),
            push_audience=env.text("PUSH_AUDIENCE"),
            push_service_account=env.text("PUSH_SERVICE_ACCOUNT"),
            id_token_certs_url=env.text("ID_TOKEN_CERTS_URL"),
            push_unsigned_local=env.flag("PUSH_UNSIGNED_LOCAL"),
            tokens_checked_by_cloud_run=env.flag("TOKENS_CHECKED_BY_CLOUD_RUN"),
            allowed_asset_prefixes=env.allow_list("RENDER_ALLOWED_ASSET_PREFIXES"),
            allowed_source_buckets=env.allow_list("RENDER_ALLOWED_SOURCE_BUCKETS"),
            allowed_algorithms=env.allow_list("RENDER_ALLOWED_ALGORITHMS"),
            http_auth_modes=env.auth_modes("HTTP_AUTH_MODES"),
            hmac_keys=env.signing_keys("HTTP_HMAC_KEYS"),
            hmac_max_skew=env.integer("HTTP_HMAC_MAX_SKEW", minimum=1, maximum=3600),
            link_keys=env.signing_keys("HTTP_LINK_KEYS"),
            trusted_proxy_hops=env.integer("HTTP_TRUSTED_PROXY_HOPS", minimum=0),
            rate_limit_per_minute=env.integer("HTTP_RATE_LIMIT", minimum=0),
            rate_burst=env.integer("HTTP_RATE_BURST", minimum=1),
            max_pixels=env.integer("HTTP_MAX_PIXELS", minimum=0),
        )
        env.raise_problems()
        settings._check_static_token()
        settings._check_auth_keys()
        return settings

    def _check_static_token(self) -> None:
        # A fixed token is a local-development convenience. Sending it to a real Google
        # host would leak it and hide a missing service identity, so it is refused
        # there.
        if self.ee_static_token and not is_loopback(self.ee_api_url):
            raise ConfigurationError(
                f"EE_STATIC_TOKEN is set but EE_API_URL={self.ee_api_url!r} is not a "
                "loopback address. Unset EE_STATIC_TOKEN: deployed functions use their "
                "own service identity.",
                code="STATIC_TOKEN_NOT_LOCAL",
                field="EE_STATIC_TOKEN",
            )

    def _check_auth_keys(self) -> None:
        # A mode without keys would reject every request with a misleading 401.
        for mode, variable, keys in (
            ("hmac", "HTTP_HMAC_KEYS", self.hmac_keys),
            ("signed-link", "HTTP_LINK_KEYS", self.link_keys),
        ):
            if mode in self.http_auth_modes and not keys:
                raise ConfigurationError(
                    f"HTTP_AUTH_MODES includes {mode} but {variable} is empty. Give "
                    f"{variable} from Secret Manager, or remove {mode}.",
                    code="AUTH_KEYS_MISSING",
                    field=variable,
                )

    def bucket_allowed(self, bucket: str) -> bool:
        return bucket in self.allowed_buckets


class _Reader:
    """Reads typed values with defaults from ENVIRONMENT and collects every problem."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        self._problems: list[str] = []

    def text(self, name: str) -> str:
        value = self._environ.get(name)
        if value is None:
            return ENVIRONMENT[name].default or ""
        return value.strip()

    def required(self, name: str) -> str:
        value = self.text(name)
        if not value:
            self._problems.append(f"{name} is missing: {ENVIRONMENT[name].description}")
        return value

    def items(self, name: str) -> list[str]:
        return [item.strip() for item in self.text(name).split(",") if item.strip()]

    def number(self, name: str) -> float:
        raw = self.text(name)
        try:
            value = float(raw)
        except ValueError:
            self._problems.append(f"{name}={raw!r} is not a number of seconds")
            return float(ENVIRONMENT[name].default or 0)
        if not value > 0:
            self._problems.append(f"{name}={raw!r} must be greater than 0")
        return value

    def integer(self, name: str, minimum: int, maximum: int | None = None) -> int:
        raw = self.text(name)
        try:
            value = int(raw)
        except ValueError:
            self._problems.append(f"{name}={raw!r} is not a whole number")
            return int(ENVIRONMENT[name].default or minimum)
        if value < minimum or (maximum is not None and value > maximum):
            bound = f"from {minimum}" + (
                f" to {maximum}" if maximum is not None else ""
            )
            self._problems.append(
                f"{name}={value} is out of range; use a value {bound}"
            )
        return value

    def flag(self, name: str) -> bool:
        raw = self.text(name).lower()
        if raw in ("true", "1", "yes"):
            return True
        if raw in ("false", "0", "no"):
            return False
        self._problems.append(f"{name}={raw!r} must be true or false")
        return False

    def chunk_size(self, name: str) -> int:
        # Resumable uploads take chunks in multiples of 256 KiB.
        value = self.integer(name, minimum=256 * 1024)
        if value % (256 * 1024):
            self._problems.append(
                f"{name}={value} must be a multiple of 262144 (256 KiB)"
            )
        return value

    def json_object(self, name: str) -> dict[str, Any]:
        raw = self.text(name)
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as error:
            self._problems.append(f"{name} is not valid JSON: {error.msg}")
            return {}
        if not isinstance(value, dict):
            self._problems.append(f"{name} must be a JSON object, not {raw[:50]!r}")
            return {}
        return value

    def allow_list(self, name: str) -> frozenset[str] | None:
        """Read a comma-separated allow-list: ``*`` allows all (None), empty none."""
        items = self.items(name)
        if "*" not in items:
            return frozenset(items)
        if len(items) > 1:
            self._problems.append(
                f"{name} mixes '*' with other entries; '*' already allows everything"
            )
        return None

    def auth_modes(self, name: str) -> frozenset[str]:
        modes = frozenset(self.items(name))
        unknown = sorted(modes - {"iam", "hmac", "signed-link"})
        if unknown or not modes:
            self._problems.append(
                f"{name}={self.text(name)!r} is not valid; use 'iam', or 'hmac', "
                "'signed-link' or both"
            )
        elif "iam" in modes and len(modes) > 1:
            # Callers of hmac or signed-link need a public service, and behind a
            # public service no ID token has been checked.
            self._problems.append(
                f"{name} combines 'iam' with {', '.join(sorted(modes - {'iam'}))}; "
                "Cloud Run IAM and signed requests need different deployments"
            )
        return modes

    def signing_keys(self, name: str) -> tuple[tuple[str, str], ...]:
        """Read KEY_ID:SECRET pairs; a bare secret gets the key id ``default``."""
        keys: list[tuple[str, str]] = []
        for item in self.items(name):
            key_id, _, secret = item.partition(":") if ":" in item else ("", "", item)
            key_id = key_id or "default"
            if not _KEY_ID.fullmatch(key_id) or len(secret) < 32:
                self._problems.append(
                    f"{name} entry {len(keys) + 1} is not KEY_ID:SECRET with a key id "
                    "of letters, digits, '_' or '-' and a secret of at least 32 "
                    "characters"
                )
            keys.append((key_id, secret))
        return tuple(keys)

    def raise_problems(self) -> None:
        if self._problems:
            raise ConfigurationError(
                "Invalid configuration: " + "; ".join(self._problems) + ".",
                code="INVALID_CONFIGURATION",
            )
