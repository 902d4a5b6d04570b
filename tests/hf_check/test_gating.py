"""Going live needs a current, passing check: ``PUT .../status`` and ``gatewayz models
set-status`` refuse a model never checked, whose check failed, or that changed since, with
the reason; ``force`` overrides, audited as forced. Check reports are validated."""

from __future__ import annotations

import subprocess
from typing import Any

import httpx
import pytest

from tests.checks import bearer, hf_error
from tests.hf_check.conftest import PRICING, hf_check
from tests.servers import PYTHON, Gateway

MODEL = "gated-chat"
PASS = {"probe": "call", "client": "python", "result": "pass", "latency_ms": 12}
FAIL = {"probe": "tool_call", "client": "python", "result": "fail", "reason": "no tool call"}


def mapping(upstream_model: str) -> dict[str, Any]:
    return {
        "provider_model_id": MODEL,
        "hub_model_id": "example/gated-chat",
        "task_type": "conversational",
        "routes": [{"provider": "tooly", "model": upstream_model}],
        "pricing": PRICING,
        "context_length": 4096,
    }


def put_status(gw: Gateway, key: str, status: str, **extra: Any) -> httpx.Response:
    return httpx.put(
        f"{gw.url}/hf/tasks/models/{MODEL}/status",
        json={"status": status, **extra},
        headers=bearer(key),
    )


def post_check(gw: Gateway, key: str, body: Any, model: str = MODEL) -> httpx.Response:
    return httpx.post(f"{gw.url}/hf/tasks/models/{model}/checks", json=body, headers=bearer(key))


def admin_entry(gw: Gateway, key: str) -> dict[str, Any]:
    models = httpx.get(f"{gw.url}/hf/tasks/models", headers=bearer(key)).json()["models"]
    (entry,) = [m for m in models if m["provider_model_id"] == MODEL]
    return dict(entry)


def cli(gw: Gateway, *args: str) -> subprocess.CompletedProcess[str]:
    config = str(gw.workdir / "gatewayz.yaml")
    return subprocess.run(
        [PYTHON, "-m", "gatewayz", "--config", config, "models", *args],
        cwd=gw.workdir,
        env=gw.env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def gated(gw: Gateway, admin_key: str) -> str:
    r = httpx.post(
        f"{gw.url}/hf/tasks/models/map", json=mapping("decider"), headers=bearer(admin_key)
    )
    assert r.status_code == 201, r.text
    assert r.json()["last_check"] is None and r.json()["status"] == "staging"
    return MODEL


def test_live_needs_a_current_passing_check(gw: Gateway, admin_key: str, gated: str) -> None:
    never = hf_error(put_status(gw, admin_key, "live"), 409)
    assert f"model {gated!r} has no conformance check" in never
    assert f"'gatewayz hf check --url URL --key KEY --model {gated}'" in never

    failed = post_check(gw, admin_key, {"probes": [PASS, FAIL]})
    assert failed.status_code == 201, failed.text
    assert failed.json()["last_check"]["passed"] is False
    refused = hf_error(put_status(gw, admin_key, "live"), 409)
    assert "failed: tool_call (python)" in refused

    # A real check of the model through the gateway passes, and then it may go live.
    out = hf_check(gw, admin_key, "--model", gated)
    assert out.returncode == 0, out.stdout + out.stderr
    live = put_status(gw, admin_key, "live")
    assert live.status_code == 200, live.text
    assert live.json()["last_check"]["passed"] is True
    # A status change is not a change of what is served: the check stays current.
    assert put_status(gw, admin_key, "staging").json()["last_check"]["stale"] is False

    # Changing the mapping makes the check stale: live is refused again.
    remapped = httpx.post(
        f"{gw.url}/hf/tasks/models/map", json=mapping("notools"), headers=bearer(admin_key)
    )
    assert remapped.status_code == 200, remapped.text
    assert remapped.json()["last_check"]["stale"] is True
    stale = hf_error(put_status(gw, admin_key, "live"), 409)
    assert "is older than its last change" in stale

    # Forced: allowed, and audited as forced.
    forced = put_status(gw, admin_key, "live", force=True)
    assert forced.status_code == 200 and forced.json()["status"] == "live"
    trail = httpx.get(
        f"{gw.url}/hf/tasks/models/audit", params={"model_id": gated}, headers=bearer(admin_key)
    ).json()["entries"]
    assert trail[0]["action"] == "set_status_forced" and trail[0]["actor"].startswith("key:")
    assert put_status(gw, admin_key, "staging").status_code == 200


def test_a_model_changed_during_its_check_is_not_recorded(
    gw: Gateway, admin_key: str, gated: str
) -> None:
    seen = admin_entry(gw, admin_key)["changed_at"]
    assert (
        httpx.post(
            f"{gw.url}/hf/tasks/models/map", json=mapping("decider"), headers=bearer(admin_key)
        ).status_code
        == 200
    )
    late = post_check(gw, admin_key, {"probes": [PASS], "changed_at": seen})
    assert "changed while it was checked" in hf_error(late, 409)


def test_cli_set_status_is_gated_and_forced_with_a_flag(
    gw: Gateway, admin_key: str, gated: str
) -> None:
    assert post_check(gw, admin_key, {"probes": [FAIL]}).status_code == 201
    refused = cli(gw, "set-status", gated, "live")
    assert refused.returncode == 1
    assert "failed: tool_call (python)" in refused.stderr and "--force" in refused.stderr
    listed = cli(gw, "list")
    (row,) = [line for line in listed.stdout.splitlines() if line.startswith(gated + " ")]
    assert " FAILED 20" in row
    forced = cli(gw, "set-status", gated, "live", "--force")
    assert forced.returncode == 0, forced.stderr
    assert f"{gated} is now live" in forced.stdout
    assert cli(gw, "set-status", gated, "staging").returncode == 0


def test_a_never_checked_model_lists_unknown_capabilities(
    gw: Gateway, admin_key: str, user_key: str
) -> None:
    body = {**mapping("decider"), "provider_model_id": "unchecked-chat", "status": "live"}
    body["force"] = True  # live without a check: only forced
    body["hub_model_id"] = "example/unchecked-chat"
    r = httpx.post(f"{gw.url}/hf/tasks/models/map", json=body, headers=bearer(admin_key))
    assert r.status_code == 201, r.text
    data = httpx.get(f"{gw.url}/v1/models", headers=bearer(user_key)).json()["data"]
    (entry,) = [m for m in data if m["id"] == "unchecked-chat"]
    (provider,) = entry["providers"]
    assert provider["check"] == "none" and provider["status"] == "live"
    assert provider["supports_tools"] is None and provider["supports_structured_output"] is None
    assert provider["provider"] == "provider-1"  # a private provider, by its alias
    gone = httpx.delete(f"{gw.url}/hf/tasks/models/unchecked-chat", headers=bearer(admin_key))
    assert gone.status_code == 200


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"probes": []}, "probes"),
        ({"probes": [{**PASS, "result": "maybe"}]}, "result"),
        ({"probes": [{**PASS, "extra": 1}]}, "extra"),
        ({"probes": [{**PASS, "latency_ms": -1}]}, "latency_ms"),
        ({"probes": [PASS], "passed": True}, "passed"),
        ({"probes": [PASS] * 201}, "probes"),
        ({"probes": [PASS], "changed_at": "yesterday"}, "changed_at"),
        ([PASS], "object"),
    ],
)
def test_bad_check_reports_are_400s(
    gw: Gateway, admin_key: str, gated: str, body: Any, message: str
) -> None:
    assert message in hf_error(post_check(gw, admin_key, body), 400)


def test_only_admins_record_checks_of_known_models(
    gw: Gateway, admin_key: str, user_key: str, gated: str
) -> None:
    assert "admin" in hf_error(post_check(gw, user_key, {"probes": [PASS]}), 403)
    missing = post_check(gw, admin_key, {"probes": [PASS]}, model="no-such-model")
    assert "not in the registry" in hf_error(missing, 404)
