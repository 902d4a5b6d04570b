"""``responses_api`` is a provider option of the openai kind only."""

from __future__ import annotations

import pytest

from gatewayz.config import ConfigError, parse_settings


def _config(kind: str) -> dict[str, object]:
    return {
        "providers": [
            {"name": "p", "kind": kind, "base_url": "http://127.0.0.1:1/v1", "responses_api": True}
        ],
        "models": [
            {
                "id": "m",
                "hub_model_id": "example/m",
                "task": "conversational",
                "routes": [{"provider": "p", "model": "m"}],
            }
        ],
    }


def test_openai_kind_may_speak_responses() -> None:
    settings = parse_settings(_config("openai"), {})
    assert settings.provider("p").responses_api is True


def test_other_kinds_may_not() -> None:
    with pytest.raises(ConfigError, match="responses_api"):
        parse_settings(_config("hf"), {})
