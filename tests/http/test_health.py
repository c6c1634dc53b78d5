"""The health endpoint: a cheap render that proves the deployment works."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.http.conftest import MakeClient, stats


def test_health_ok(make_client: MakeClient, standin_control: str) -> None:
    client = make_client()
    first = client.get("/health")
    second = client.get("/health")

    assert first.status_code == 200
    assert first.get_json() == {"healthy": True}
    assert second.status_code == 200
    assert stats(standin_control)["requests"]["thumbnails.create"] == 1


def test_health_names_missing_registration(unregistered_client: FlaskClient) -> None:
    answer = unregistered_client.get("/health")

    assert answer.status_code == 503
    body = answer.get_json()
    assert body["healthy"] is False
    assert body["error"]["code"] == "EE_NOT_AUTHORIZED"
    assert "register?project=local-project" in body["error"]["message"]
