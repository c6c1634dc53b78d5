"""Command line: `python -m standin --port 8081 --data-dir .cache/standin-data`.

Every option can also be set through an environment variable named STANDIN_ plus
the option name in capitals, for example STANDIN_PROJECT_STATE=not-registered.
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import os
import pathlib
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType
from typing import Any

from standin.server import PROJECT_STATES, ServerConfig, StandinServer
from standin.thumbnails import DEFAULT_TTL_SECONDS

logger = logging.getLogger("standin")


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line, with the request fields that the server attaches."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.datetime.fromtimestamp(
                record.created, datetime.UTC
            ).isoformat(timespec="milliseconds"),
            "severity": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "request_log", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    env = os.environ
    parser = argparse.ArgumentParser(
        prog="python -m standin",
        description="Local stand-in for the Earth Engine REST API.",
    )
    parser.add_argument(
        "--host",
        default=env.get("STANDIN_HOST", "127.0.0.1"),
        help="address to listen on (default: %(default)s)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=int(env.get("STANDIN_PORT", "8081")),
        help="port to listen on, 0 for any free port (default: %(default)s)",
    )
    parser.add_argument(
        "--data-dir",
        type=pathlib.Path,
        default=pathlib.Path(env.get("STANDIN_DATA_DIR", ".cache/standin-data")),
        help="folder of the prepared Earth data (default: %(default)s)",
    )
    parser.add_argument(
        "--thumbnail-ttl",
        type=float,
        default=float(env.get("STANDIN_THUMBNAIL_TTL", DEFAULT_TTL_SECONDS)),
        help="seconds a thumbnail id stays valid (default: %(default)s)",
    )
    parser.add_argument(
        "--require-token",
        default=env.get("STANDIN_REQUIRE_TOKEN") or None,
        help="the only bearer token accepted; by default any token is accepted,"
        " but authenticated methods still need one",
    )
    parser.add_argument(
        "--check-user-project",
        action="store_true",
        default=_env_flag("STANDIN_CHECK_USER_PROJECT"),
        help="reject requests whose X-Goog-User-Project header differs from the"
        " project in the path, with Earth Engine's 403 serviceusage error",
    )
    parser.add_argument(
        "--project-state",
        choices=PROJECT_STATES,
        default=env.get("STANDIN_PROJECT_STATE", "registered"),
        help="simulated state of every project: anything but 'registered' makes"
        " API calls fail with Earth Engine's 403 for that case (default: %(default)s)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    _configure_logging()

    # Imported here so that `--help` works without loading the evaluator.
    from standin.engine import Engine

    config = ServerConfig(
        host=args.host,
        port=args.port,
        thumbnail_ttl=args.thumbnail_ttl,
        require_token=args.require_token,
        check_user_project=args.check_user_project,
        project_state=args.project_state,
    )
    server = StandinServer(config, Engine(args.data_dir))
    _stop_on_signals(server)

    logger.info("standin listening on %s", server.url)
    # The one stdout line that scripts and test fixtures wait for.
    print(f"standin listening on {server.url}", flush=True)
    server.serve_forever()
    logger.info("standin stopped")


def _configure_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLogFormatter())
    logging.basicConfig(level=logging.INFO, handlers=[handler])


def _stop_on_signals(server: StandinServer) -> None:
    def stop(signum: int, frame: FrameType | None) -> None:
        logger.info("stopping on signal %d", signum)
        # shutdown() waits for serve_forever() to return, so it must not run on
        # the thread that serves.
        threading.Thread(target=server.close, name="standin-stop").start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").lower() in {"1", "true", "yes", "on"}


if __name__ == "__main__":
    main()
