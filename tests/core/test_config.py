"""Settings: defaults, validation messages, and the environment registry."""

from __future__ import annotations

import pytest

from eerender.config import ENVIRONMENT, Settings
from eerender.errors import ConfigurationError


def test_defaults_match_earth_engine_limits() -> None:
    settings = Settings.from_environ({"EE_PROJECT": "p"})

    assert settings.ee_api_url == "https://earthengine.googleapis.com"
    assert settings.max_output_bytes == 48 * 1024 * 1024
    assert settings.max_grid_side == 32768
    assert settings.max_bands == 1024
    assert settings.max_body_bytes == 10 * 1024 * 1024


def test_every_problem_reported_at_once() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_environ({"EE_MAX_ATTEMPTS": "many", "EE_DEADLINE": "-1"})

    message = caught.value.message
    assert "EE_PROJECT is missing" in message
    assert "EE_MAX_ATTEMPTS='many' is not a whole number" in message
    assert "EE_DEADLINE='-1' must be greater than 0" in message


def test_chunk_size_must_be_256_kib_multiple() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_environ({"EE_PROJECT": "p", "STORE_CHUNK_BYTES": "300000"})
    assert "multiple of 262144" in caught.value.message


def test_render_bucket_always_allowed() -> None:
    settings = Settings.from_environ(
        {"EE_PROJECT": "p", "RENDER_BUCKET": "out", "RENDER_ALLOWED_BUCKETS": "a, b"}
    )

    assert settings.allowed_buckets == frozenset({"out", "a", "b"})
    assert not settings.bucket_allowed("c")


def test_static_token_allowed_for_loopback() -> None:
    settings = Settings.from_environ(
        {
            "EE_PROJECT": "p",
            "EE_STATIC_TOKEN": "tok-xyz",
            "EE_API_URL": "http://127.0.0.1:1",
        }
    )

    assert settings.ee_static_token == "tok-xyz"
    assert "tok-xyz" not in repr(settings)


def test_registry_describes_every_variable() -> None:
    for name, variable in ENVIRONMENT.items():
        assert variable.name == name
        assert variable.description.endswith(".")
        assert variable.functions
