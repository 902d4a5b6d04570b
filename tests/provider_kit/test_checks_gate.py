"""The kit holds what Hugging Face's users will be able to call: live models whose last
conformance check passed and is current. Every other entry is left out and named, with the
reason, in CHECKLIST.md (which also names the database it read); ``--include-unchecked``
keeps unchecked live models, ``--include-staging`` offers them as the staging they are on
the Hub."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gatewayz.config import ConfigError, ModelConfig
from gatewayz.services.model_checks import LastCheck, verdict
from tests.provider_kit.conftest import HOSTILE_ID, NAME, Kit, run_kit
from tests.servers import Gateway

CHAT = "smollm2-135m-instruct"


def _model(model_id: str, **extra: object) -> ModelConfig:
    return ModelConfig.model_validate(
        {
            "id": model_id,
            "hub_model_id": f"org/{model_id}",
            "task": "conversational",
            "routes": [{"provider": "local", "model": "x"}],
            **extra,
        }
    )


def _kit(gw: Gateway, out: Path, *flags: str) -> tuple[str, dict[str, object], str]:
    done = run_kit(gw, "--name", NAME, "--base-url", gw.url, "--out", str(out), *flags)
    assert done.returncode == 0, done.stderr
    manifest = json.loads((out / "kit.json").read_text())
    return done.stdout, manifest, (out / "CHECKLIST.md").read_text()


def test_only_checked_live_models_go_in_and_the_rest_are_named(
    kit_gateway: Gateway, checked: str, kit: Kit, tmp_path: Path
) -> None:
    stdout, manifest, checklist = _kit(kit_gateway, tmp_path / "kit")
    models = manifest["models"]
    assert isinstance(models, list)
    assert [(m["provider_model_id"], m["status"]) for m in models] == [(checked, "live")]
    # The database read, named (absolute), in the checklist and on the terminal.
    database = f"sqlite:///{(kit_gateway.workdir / 'gatewayz.db').resolve()}"
    assert f"registry: {database}" in stdout
    assert f"from the registry in the database `{database}`, for the gateway at" in checklist
    # Every other entry is listed as left out, with why.
    left = checklist.split("Left out:", 1)[1].split("## 1.", 1)[0]
    assert f"- {CHAT} " in left and "has no conformance check" in left
    assert "--include-unchecked" in left
    assert "vader-sentiment" in left and "local-only" in left
    assert "staging: pass --include-staging" in left  # the hostile staging entry, escaped
    assert HOSTILE_ID not in checklist
    assert f"left out {CHAT}: live, but not on the Hub as live" in stdout


def test_include_unchecked_and_include_staging(kit_gateway: Gateway, tmp_path: Path) -> None:
    _, manifest, _ = _kit(kit_gateway, tmp_path / "unchecked", "--include-unchecked")
    status = {m["provider_model_id"]: m["status"] for m in manifest["models"]}  # type: ignore[attr-defined]
    assert status[CHAT] == "live" and HOSTILE_ID not in status
    _, manifest, checklist = _kit(kit_gateway, tmp_path / "staging", "--include-staging")
    status = {m["provider_model_id"]: m["status"] for m in manifest["models"]}  # type: ignore[attr-defined]
    # Unchecked live models are on the Hub as staging (hf sync holds them there).
    assert status[CHAT] == "staging" and status[HOSTILE_ID] == "staging"
    assert "vader-sentiment" in checklist.split("## 1.", 1)[0]  # local-only: still left out


def test_failed_and_stale_checks_keep_a_live_model_out() -> None:
    now = datetime.now(UTC)
    passed = LastCheck(now, True, [{"probe": "call", "client": "python", "result": "pass"}])
    failed = LastCheck(
        now, False, [{"probe": "tool_call", "client": "python", "result": "fail", "reason": "x"}]
    )
    unverified = {
        model_id: why
        for model_id, check, changed in [
            ("ok", passed, now - timedelta(hours=1)),
            ("failed", failed, None),
            ("stale", passed, now + timedelta(seconds=1)),
            ("never", None, None),
        ]
        if (why := verdict(model_id, check, changed)) is not None
    }
    models = [_model(m) for m in ("ok", "failed", "stale", "never")]
    from gatewayz.provider_kit.offer import offer_of

    offer = offer_of(models, unverified=unverified)
    assert [m.provider_id for m in offer.models] == ["ok"]
    reasons = {m.provider_id: m.reason for m in offer.left_out}
    assert "failed: tool_call (python)" in reasons["failed"]
    assert "older than its last change" in reasons["stale"]
    assert "has no conformance check" in reasons["never"]
    with pytest.raises(ConfigError, match="left out:\n  failed: live, but"):
        offer_of([_model("failed")], unverified=unverified)
    everything = offer_of(models, unverified=unverified, include_unchecked=True)
    assert {m.status for m in everything.models} == {"live"} and len(everything.models) == 4
