"""A cheap end-to-end check that this deployment can render at all.

It creates a 1x1 thumbnail of a constant image: the same call, permission and quota
project as a real render, so a missing registration, a disabled API, a missing role or
bad credentials show up here before users hit them. Results are kept for a minute, so
the health endpoint cannot be used to spend Earth Engine quota.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from eerender.earthengine import EarthEngineClient
from eerender.errors import ConfigurationError, Outcome, RenderError

logger = logging.getLogger(__name__)

CACHE_SECONDS = 60.0
# New IAM grants take a few minutes to apply; the start-up check waits this long before
# it reports a configuration failure at ERROR.
STARTUP_GRACE_SECONDS = 300.0
STARTUP_INTERVAL_SECONDS = 30.0

PROBE = {
    "expression": {
        "result": "0",
        "values": {
            "0": {
                "functionInvocationValue": {
                    "functionName": "Image.clipToBoundsAndScale",
                    "arguments": {
                        "input": {
                            "functionInvocationValue": {
                                "functionName": "Image.constant",
                                "arguments": {"value": {"constantValue": 0}},
                            }
                        },
                        "geometry": {
                            "functionInvocationValue": {
                                "functionName": "GeometryConstructors.Rectangle",
                                "arguments": {
                                    "coordinates": {"constantValue": [0, 0, 1, 1]},
                                    "geodesic": {"constantValue": False},
                                },
                            }
                        },
                        "width": {"constantValue": 1},
                        "height": {"constantValue": 1},
                    },
                }
            }
        },
    },
    "fileFormat": "PNG",
}


@dataclass(frozen=True)
class HealthReport:
    """Whether rendering works, and if not, the error that explains why."""

    healthy: bool
    checked_at: float
    error: RenderError | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"healthy": self.healthy}
        if self.error is not None:
            body.update(self.error.to_json())
        return body


class HealthCheck:
    """Runs the probe at most once a minute and shares the result between threads."""

    def __init__(self, earth_engine: EarthEngineClient) -> None:
        self._ee = earth_engine
        self._lock = threading.Lock()
        self._report: HealthReport | None = None

    def report(self) -> HealthReport:
        with self._lock:
            now = time.monotonic()
            if self._report is None or now - self._report.checked_at > CACHE_SECONDS:
                self._report = self._probe(now)
            return self._report

    def _probe(self, now: float) -> HealthReport:
        try:
            self._ee.create_thumbnail(PROBE, deadline=10.0)
        except RenderError as error:
            return HealthReport(False, now, error)
        return HealthReport(True, now)

    def watch_startup(self) -> threading.Thread:
        """Check in the background after a cold start and log what is misconfigured."""
        thread = threading.Thread(
            target=self._startup, name="health-startup", daemon=True
        )
        thread.start()
        return thread

    def _startup(self) -> None:
        started = time.monotonic()
        while True:
            report = self.report()
            error = report.error
            if error is None:
                logger.info("Start-up check passed: Earth Engine accepts renders")
                return
            waited = time.monotonic() - started
            if (
                error.outcome is not Outcome.CONFIGURATION
                or waited > STARTUP_GRACE_SECONDS
            ):
                level = (
                    logging.ERROR
                    if isinstance(error, ConfigurationError)
                    else logging.WARNING
                )
                logger.log(
                    level,
                    "Start-up check failed: %s",
                    error.message,
                    extra={"json_fields": error.to_json()},
                )
                return
            logger.warning(
                "Start-up check failed, waiting for permissions to apply: %s",
                error.message,
            )
            time.sleep(STARTUP_INTERVAL_SECONDS + CACHE_SECONDS)
