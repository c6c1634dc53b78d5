"""The per-instance objects every trigger shares, built once on first use."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from eerender import logs, policy
from eerender.config import Settings
from eerender.earthengine import EarthEngineClient
from eerender.health import HealthCheck
from eerender.render import Renderer

if TYPE_CHECKING:
    from eerender.storage import RenderStore


@dataclass(frozen=True)
class Services:
    settings: Settings
    earth_engine: EarthEngineClient
    renderer: Renderer
    health: HealthCheck


_lock = threading.Lock()
_services: Services | None = None


def build(settings: Settings) -> Services:
    """Wire the clients for ``settings``; Cloud Storage is connected on first use."""
    earth_engine = EarthEngineClient(settings)
    signer = None
    if settings.signed_url_service_account:
        from eerender.signing import IamSigner

        signer = IamSigner(settings, earth_engine.session)

    def make_store() -> RenderStore:
        from eerender.storage import RenderStore

        return RenderStore(settings)

    renderer = Renderer(settings, earth_engine, store_factory=make_store, signer=signer)
    return Services(settings, earth_engine, renderer, HealthCheck(earth_engine))


def get() -> Services:
    """Return this instance's services, reading the environment the first time."""
    global _services
    with _lock:
        if _services is None:
            # JSON logging first, so a configuration error is logged structured too.
            logs.configure(os.environ.get("LOG_LEVEL", "INFO").upper())
            settings = Settings.from_environ()
            logs.configure(settings.log_level)
            # Checks the allow-lists now, so a malformed one or an open policy is
            # logged at start-up rather than on the first request.
            policy.policy_for(settings)
            _services = build(settings)
            if settings.startup_check:
                _services.health.watch_startup()
        return _services


def reset() -> None:
    """Forget the built services, so the next call reads the environment again."""
    global _services
    with _lock:
        _services = None
