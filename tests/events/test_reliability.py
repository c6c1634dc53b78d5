"""Count in equals count out: every request ends as one result or one failure record."""

from __future__ import annotations

import threading
from collections.abc import Mapping

from bench import reliability
from eerender.config import Settings
from tests.events.conftest import EventStack, MakeEventClient


def test_every_request_settles_once(
    make_event_client: MakeEventClient, event_stack: EventStack
) -> None:
    # One Earth Engine attempt per call lets injected faults reach the redelivery path.
    app = make_event_client(
        "render_pubsub", EE_MAX_ATTEMPTS="1", RESULTS_TOPIC=""
    ).application
    clients = threading.local()
    settings = Settings.from_environ({**event_stack.env, "EE_MAX_ATTEMPTS": "1"})

    def deliver(headers: Mapping[str, str], body: bytes) -> int:
        # Each thread gets its own client of the one app, as requests would.
        if not hasattr(clients, "value"):
            clients.value = app.test_client()
        return clients.value.post("/", headers=dict(headers), data=body).status_code

    workload = reliability.Workload(events=60, fault_share=0.3, seed=11)
    figures = reliability.run(
        deliver, event_stack.ee_url, event_stack.gcs_url, settings, workload, workers=4
    )

    assert figures.events_sent == 60
    assert figures.faults_injected > 0
    assert figures.lost == 0
    assert figures.duplicates_rendered == 0
    assert figures.dead_lettered == 0
    assert figures.results_written + figures.failures_recorded == (
        figures.distinct_requests
    )
    assert figures.failures_recorded > 0
