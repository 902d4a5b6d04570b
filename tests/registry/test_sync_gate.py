"""``hf sync`` never pushes a model as live on the Hub without a current, passing check:
such a model is created as staging, and a mapping already live on the Hub is held back
(left unchanged and reported, and the run exits 3), not demoted."""

from __future__ import annotations

from tests.registry.conftest import PROVIDER, Workdir, registry_config

CHAT = "HuggingFaceTB/SmolLM2-135M-Instruct"
BIGGER = "HuggingFaceTB/SmolLM2-360M-Instruct"


def map_live(workdir: Workdir) -> None:
    out = workdir.cli(
        "models", "map", "--id", "smol-360", "--hub", BIGGER, "--task", "conversational",
        "--status", "live", "--force", "--route", "chat:smollm2-360m",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr


def test_a_live_model_without_a_check_is_created_as_staging(workdir: Workdir) -> None:
    map_live(workdir)
    out = workdir.sync()
    assert out.returncode == 0, out.stdout + out.stderr
    assert (
        "! smol-360 is not pushed as live: model 'smol-360' has no conformance check"
    ) in out.stdout
    assert f"+ create conversational {BIGGER} -> smol-360 (staging)" in out.stdout
    assert workdir.hub.grouped(PROVIDER)["conversational"][BIGGER]["status"] == "staging"
    # Checked and passed: the next sync takes it live.
    workdir.pass_checks("smol-360")
    again = workdir.sync()
    assert f"~ update status conversational {BIGGER}: staging -> live" in again.stdout
    assert workdir.hub.grouped(PROVIDER)["conversational"][BIGGER]["status"] == "live"


def test_a_failed_check_holds_back_a_mapping_live_on_the_hub(workdir: Workdir) -> None:
    map_live(workdir)
    workdir.pass_checks("smol-360", passed=False)
    workdir.hub.seed(PROVIDER, "conversational", BIGGER, "smol-360", "live")
    out = workdir.sync()
    assert out.returncode == 3, out.stdout + out.stderr  # held back, nothing failed
    assert "the last conformance check of model 'smol-360'" in out.stdout
    assert "failed: call (python)" in out.stdout
    assert "0 to update status, 0 to delete, 1 held back" in out.stdout
    assert (
        f"held back: update status conversational {BIGGER}: live -> staging "
        "(needs a current passing `gatewayz hf check`)"
    ) in out.stdout
    assert (
        "1 change(s) to mappings live on the Hub were held back until their models pass "
        "`gatewayz hf check` (no flag lets them through)"
    ) in out.stdout
    assert BIGGER not in "".join(line for line in out.stdout.splitlines() if "~ update" in line)
    assert workdir.hub.grouped(PROVIDER)["conversational"][BIGGER]["status"] == "live"
    assert not [c for c in workdir.hub.calls() if c[0] in ("PUT", "DELETE")]


def test_a_change_after_the_check_makes_it_stale(workdir: Workdir) -> None:
    workdir.hub.seed(PROVIDER, "conversational", CHAT, "smol-chat", "live")
    config = registry_config(workdir.db)
    config["models"][0]["routes"] = [{"provider": "chat", "model": "smollm2-v2"}]
    workdir.write_config(config)
    out = workdir.sync()
    assert out.returncode == 3, out.stdout + out.stderr
    assert "is older than its last change" in out.stdout
    assert f"held back: update status conversational {CHAT}: live -> staging (needs" in out.stdout
    assert workdir.hub.grouped(PROVIDER)["conversational"][CHAT]["status"] == "live"
    listed = workdir.models()
    (chat,) = [m for m in listed if m["provider_model_id"] == "smol-chat"]
    assert chat["last_check"]["stale"] is True and chat["last_check"]["passed"] is True
