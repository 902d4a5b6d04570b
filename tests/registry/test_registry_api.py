"""The registry API through a real gateway: discovery, admin changes, audit, /v1/models."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gatewayz.tasks import ALL_TASKS
from gatewayz.upstreams.local import LocalUpstream
from tests.servers import Gateway

HUB = "HuggingFaceTB/SmolLM2-135M-Instruct"


def api_config(db: Path) -> dict[str, Any]:
    return {
        "database_url": f"sqlite:///{db}",
        "auth_cache_ttl_s": 0,
        "providers": [{"name": "local", "kind": "local"}],
        "models": [
            {
                "id": "smol-local",
                "hub_model_id": HUB,
                "task": "conversational",
                "status": "live",
                "routes": [{"provider": "local", "model": "smollm2-135m-instruct"}],
                "pricing": {"input_per_million_usd": "0.10", "output_per_million_usd": "0.20"},
            }
        ],
    }


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    workdir = tmp_path_factory.mktemp("registry-api")
    server = Gateway(workdir, api_config(workdir / "gw.db"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def admin(gw: Gateway) -> dict[str, str]:
    return {"Authorization": f"Bearer {gw.create_key('admin', '--admin')}"}


@pytest.fixture(scope="module")
def user(gw: Gateway) -> dict[str, str]:
    return {"Authorization": f"Bearer {gw.create_key('user')}"}


def mapping(model_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "provider_model_id": model_id,
        "hub_model_id": "HuggingFaceTB/SmolLM2-360M-Instruct",
        "task_type": "conversational",
        "status": "live",
        "force": True,  # live at once without a check (test_a_new_model_mapped_live_... says why)
        "routes": [{"provider": "local", "model": "smollm2-135m-instruct"}],
        "pricing": {"input_per_million_usd": "0.30", "output_per_million_usd": "0.60"},
        "context_length": 8192,
        **extra,
    }


def v1_ids(gw: Gateway, headers: dict[str, str]) -> set[str]:
    data = httpx.get(f"{gw.url}/v1/models", headers=headers).json()["data"]
    return {m["id"] for m in data}


def test_discovery_needs_a_key_and_filters(
    gw: Gateway, admin: dict[str, str], user: dict[str, str]
) -> None:
    assert httpx.get(f"{gw.url}/hf/tasks/models").status_code == 401
    models = httpx.get(f"{gw.url}/hf/tasks/models", headers=user).json()["models"]
    local = next(m for m in models if m["provider_model_id"] == "smol-local")
    assert local["hub_model_id"] == HUB and local["task_type"] == "conversational"
    assert local["pricing"]["input_per_million_usd"] == "0.10"  # an exact decimal string
    assert local["context_length"] == 4096
    assert "routes" not in local and "source" not in local  # admins only
    models = httpx.get(f"{gw.url}/hf/tasks/models", headers=admin).json()["models"]
    full = next(m for m in models if m["provider_model_id"] == "smol-local")
    assert full["source"] == "config"
    assert full["routes"] == [
        {"provider": "local", "model": "smollm2-135m-instruct", "priority": 0, "weight": 1}
    ]
    query = {"task_type": "text-to-image"}
    assert httpx.get(f"{gw.url}/hf/tasks/models", params=query, headers=user).json() == {
        "models": []
    }
    bad = httpx.get(f"{gw.url}/hf/tasks/models", params={"status": "gone"}, headers=user)
    assert bad.status_code == 400 and "status must be one of staging, live" in bad.json()["error"]


def test_map_serves_the_new_model_at_once(
    gw: Gateway, admin: dict[str, str], user: dict[str, str]
) -> None:
    created = httpx.post(f"{gw.url}/hf/tasks/models/map", json=mapping("smol-api"), headers=admin)
    assert created.status_code == 201, created.text
    assert created.json()["source"] == "api"
    assert "smol-api" in v1_ids(gw, user)
    answer = httpx.post(
        f"{gw.url}/v1/chat/completions",
        headers=user,
        json={
            "model": "smol-api",
            "messages": [{"role": "user", "content": "Hi"}],
            "max_tokens": 4,
        },
        timeout=120,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["model"] == "smol-api"
    again = httpx.post(
        f"{gw.url}/hf/tasks/models/map", json=mapping("smol-api", status="staging"), headers=admin
    )
    assert again.status_code == 200 and again.json()["status"] == "staging"
    assert "smol-api" not in v1_ids(gw, user)  # /v1/models lists live models only


def test_changes_need_an_admin_key(gw: Gateway, user: dict[str, str]) -> None:
    r = httpx.post(f"{gw.url}/hf/tasks/models/map", json=mapping("nope"), headers=user)
    assert r.status_code == 403
    r = httpx.delete(f"{gw.url}/hf/tasks/models/smol-local", headers=user)
    assert r.status_code == 403


def test_task_that_does_not_fit_is_rejected(gw: Gateway, admin: dict[str, str]) -> None:
    unserved = next(t for t in ALL_TASKS if t not in LocalUpstream.tasks)
    r = httpx.post(
        f"{gw.url}/hf/tasks/models/map",
        json=mapping("wrong-task", task_type=unserved),
        headers=admin,
    )
    assert r.status_code == 400
    assert r.json()["error"] == (
        f"task {unserved!r} does not fit model 'wrong-task': its route to provider 'local' "
        f"serves only {', '.join(sorted(LocalUpstream.tasks))}"
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"pricing": {"input_per_million_usd": 0.3}}, "quoted decimal strings"),
        ({"routes": [{"provider": "elsewhere", "model": "m"}]}, "unknown provider 'elsewhere'"),
        ({"hub_model_id": "no-namespace"}, "is not a Hub repository id"),
        ({"adapter_type": "lora"}, "give both or neither"),
        ({"task_type": "dancing"}, "task_type"),
    ],
)
def test_bad_mappings_are_400(
    gw: Gateway, admin: dict[str, str], change: dict[str, Any], message: str
) -> None:
    r = httpx.post(f"{gw.url}/hf/tasks/models/map", json=mapping("bad", **change), headers=admin)
    assert r.status_code == 400, r.text
    assert message in r.json()["error"]


def test_status_and_delete_with_slashes_in_the_id(
    gw: Gateway, admin: dict[str, str], user: dict[str, str]
) -> None:
    model_id = "acme/smol-slash"
    assert (
        httpx.post(
            f"{gw.url}/hf/tasks/models/map", json=mapping(model_id, status="staging"), headers=admin
        ).status_code
        == 201
    )
    # Going live needs a passing conformance check (tests/hf_check tests the gate).
    passed = {"probes": [{"probe": "call", "client": "python", "result": "pass"}]}
    check = httpx.post(f"{gw.url}/hf/tasks/models/{model_id}/checks", json=passed, headers=admin)
    assert check.status_code == 201, check.text
    r = httpx.put(
        f"{gw.url}/hf/tasks/models/{model_id}/status", json={"status": "live"}, headers=admin
    )
    assert r.status_code == 200 and r.json()["status"] == "live"
    assert model_id in v1_ids(gw, user)
    bad = httpx.put(
        f"{gw.url}/hf/tasks/models/{model_id}/status", json={"status": "on"}, headers=admin
    )
    assert bad.status_code == 400
    assert httpx.delete(f"{gw.url}/hf/tasks/models/{model_id}", headers=admin).json() == {
        "deleted": model_id
    }
    assert model_id not in v1_ids(gw, user)
    gone = httpx.delete(f"{gw.url}/hf/tasks/models/{model_id}", headers=admin)
    assert gone.status_code == 404

    audit = gw.rows(
        "SELECT actor, action, before, after FROM registry_audit WHERE model_id = ? ORDER BY id",
        model_id,
    )
    assert [(a["action"]) for a in audit] == ["create", "set_status", "delete"]
    assert all(a["actor"].startswith("key:") for a in audit)
    assert json.loads(audit[1]["before"])["status"] == "staging"
    assert json.loads(audit[1]["after"])["status"] == "live"
    assert audit[2]["after"] is None

    # The same trail over HTTP, newest first, for admins only.
    trail = httpx.get(
        f"{gw.url}/hf/tasks/models/audit", params={"model_id": model_id}, headers=admin
    )
    assert trail.status_code == 200
    entries = trail.json()["entries"]
    assert [e["action"] for e in entries] == ["delete", "set_status", "create"]
    assert entries[1]["before"]["status"] == "staging" and entries[1]["after"]["status"] == "live"
    assert httpx.get(f"{gw.url}/hf/tasks/models/audit", headers=user).status_code == 403
    assert (
        httpx.get(
            f"{gw.url}/hf/tasks/models/audit", params={"limit": "0"}, headers=admin
        ).status_code
        == 400
    )


def test_config_entries_are_changed_in_the_file(gw: Gateway, admin: dict[str, str]) -> None:
    r = httpx.put(
        f"{gw.url}/hf/tasks/models/smol-local/status", json={"status": "staging"}, headers=admin
    )
    assert r.status_code == 409
    assert "defined in the configuration file" in r.json()["error"]


def test_registry_listing_has_the_hub_shape(
    gw: Gateway, admin: dict[str, str], user: dict[str, str]
) -> None:
    lora = mapping(
        "smol-lora",
        hub_model_id="HuggingFaceTB/SmolLM2-135M-Instruct",
        adapter_type="lora",
        base_model="HuggingFaceTB/SmolLM2-135M-Instruct",
        status="staging",
    )
    assert httpx.post(f"{gw.url}/hf/tasks/models/map", json=lora, headers=admin).status_code in (
        200,
        201,
    )
    listing = httpx.get(f"{gw.url}/hf/tasks/models/registry", headers=admin).json()
    conversational = listing["conversational"]
    assert conversational[HUB] == {"providerId": "smol-local", "status": "live", "last_check": None}
    key = "tag-filter=base_model:adapter:HuggingFaceTB/SmolLM2-135M-Instruct,lora"
    assert conversational[key] == {
        "providerId": "smol-lora",
        "status": "staging",
        "adapterType": "lora",
        "tags": ["base_model:adapter:HuggingFaceTB/SmolLM2-135M-Instruct", "lora"],
        "last_check": None,
    }
    live = httpx.get(
        f"{gw.url}/hf/tasks/models/registry", params={"status": "live"}, headers=admin
    ).json()
    assert key not in live["conversational"]
    # Standard keys see the live mappings only, whatever they ask for.
    for params in ({}, {"status": "staging"}):
        seen = httpx.get(f"{gw.url}/hf/tasks/models/registry", params=params, headers=user)
        assert key not in seen.json().get("conversational", {})
    assert seen.json() == {}


def _map(gw: Gateway, admin: dict[str, str], body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{gw.url}/hf/tasks/models/map", json=body, headers=admin)


def test_a_new_model_mapped_live_needs_a_check_as_set_status_does(
    gw: Gateway, admin: dict[str, str], user: dict[str, str]
) -> None:
    """Mapping is no way around the check gate: straight to live (new, or staging -> live
    by a re-map) is refused without a current passing check, and nothing is written."""
    body = mapping("gated-map")
    del body["force"]
    refused = _map(gw, admin, body)
    assert refused.status_code == 409, refused.text
    assert "has no conformance check" in refused.text and "--force" in refused.text
    assert refused.json()["request_id"]
    assert "gated-map" not in v1_ids(gw, user)
    assert not gw.rows("SELECT id FROM registry_models WHERE id = ?", "gated-map")
    staged = _map(gw, admin, {**body, "status": "staging"})
    assert staged.status_code == 201, staged.text
    assert _map(gw, admin, body).status_code == 409  # staging -> live by a re-map: the same
    forced = _map(gw, admin, {**body, "force": True})
    assert forced.status_code == 200 and forced.json()["status"] == "live", forced.text
    actions = gw.rows(
        "SELECT action FROM registry_audit WHERE model_id = ? ORDER BY id", "gated-map"
    )
    assert [a["action"] for a in actions] == ["create", "update_forced"]


def test_a_remap_keeps_the_status_unless_one_is_given(
    gw: Gateway, admin: dict[str, str], user: dict[str, str]
) -> None:
    first = mapping("smol-remap")
    del first["status"]
    created = _map(gw, admin, first)
    assert created.status_code == 201 and created.json()["status"] == "staging"  # as on the Hub
    # Never checked, so going live is refused (tests/hf_check tests the gate), unless forced:
    # what matters here is what a remap does to a live model.
    url = f"{gw.url}/hf/tasks/models/smol-remap/status"
    refused = httpx.put(url, json={"status": "live"}, headers=admin)
    assert refused.status_code == 409 and "has no conformance check" in refused.text
    live = httpx.put(url, json={"status": "live", "force": True}, headers=admin)
    assert live.status_code == 200
    # Re-running the same block (a new price, no status): still live, still served.
    again = _map(gw, admin, {**first, "pricing": {"input_per_million_usd": "0.40"}})
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "live"
    assert again.json()["pricing"]["input_per_million_usd"] == "0.40"
    assert "smol-remap" in v1_ids(gw, user)
    # "status": null is the same as leaving it out.
    assert _map(gw, admin, {**first, "status": None}).json()["status"] == "live"
    # An explicit status is a change, and audited as one.
    demoted = _map(gw, admin, {**first, "status": "staging"})
    assert demoted.status_code == 200 and demoted.json()["status"] == "staging"
    assert "smol-remap" not in v1_ids(gw, user)
    audit = gw.rows(
        "SELECT action, after FROM registry_audit WHERE model_id = ? ORDER BY id", "smol-remap"
    )
    statuses = [json.loads(a["after"])["status"] for a in audit]
    assert statuses == ["staging", "live", "live", "live", "staging"]
    assert audit[1]["action"] == "set_status_forced"


def test_the_cli_remap_keeps_live_too(gw: Gateway, admin: dict[str, str]) -> None:
    args = ["--hub", HUB, "--task", "conversational", "--route", "local:smollm2-135m-instruct"]
    made = gw.cli("models", "map", "--config", *gw.config_args[1:], "--id", "cli-remap", *args)
    assert "created cli-remap -> " in made.stdout and "(conversational, staging)" in made.stdout
    gw.cli("models", "set-status", "--config", *gw.config_args[1:], "cli-remap", "live", "--force")
    again = gw.cli("models", "map", "--config", *gw.config_args[1:], "--id", "cli-remap", *args)
    assert "(conversational, live) (status kept; --status changes it)" in again.stdout
    changed = gw.cli(
        "models",
        "map",
        "--config",
        *gw.config_args[1:],
        "--id",
        "cli-remap",
        *args,
        "--status",
        "staging",
    )
    assert "updated cli-remap" in changed.stdout and "(conversational, staging)" in changed.stdout


def test_local_only_is_shown_and_left_out_of_the_hub_listing(
    gw: Gateway, admin: dict[str, str], user: dict[str, str]
) -> None:
    body = mapping("smol-mine", hub_model_id="acme/smol-mine", local_only=True)
    made = _map(gw, admin, body)
    assert made.status_code == 201 and made.json()["local_only"] is True
    public = httpx.get(f"{gw.url}/hf/tasks/models", headers=user).json()["models"]
    assert next(m for m in public if m["provider_model_id"] == "smol-mine")["local_only"] is True
    assert "smol-mine" in v1_ids(gw, user)  # served all the same
    listing = httpx.get(f"{gw.url}/hf/tasks/models/registry", headers=admin).json()
    assert "acme/smol-mine" not in listing.get("conversational", {})
    bad = _map(gw, admin, {**body, "local_only": "sometimes"})
    assert bad.status_code == 400 and bad.headers["inference-id"] in bad.text


def test_a_remap_changes_only_the_fields_it_names(gw: Gateway, admin: dict[str, str]) -> None:
    """Re-running a map block without ``pricing`` never makes a live model free, nor
    resets its context length; the answer says which fields changed."""
    made = _map(gw, admin, mapping("smol-priced"))
    assert made.status_code == 201, made.text
    assert "changed" not in made.json()
    bare = {k: v for k, v in mapping("smol-priced").items() if k not in ("pricing", "status")}
    del bare["context_length"]
    again = _map(gw, admin, bare)
    assert again.status_code == 200, again.text
    doc = again.json()
    assert doc["pricing"]["input_per_million_usd"] == "0.30"
    assert doc["pricing"]["output_per_million_usd"] == "0.60"
    assert doc["context_length"] == 8192 and doc["status"] == "live"
    assert doc["changed"] == [] and "notes" not in doc
    cheaper = _map(gw, admin, {**bare, "pricing": {"input_per_million_usd": "0.25"}})
    assert cheaper.json()["changed"] == ["pricing"]
    assert cheaper.json()["pricing"]["output_per_million_usd"] == "0"  # the pricing given
    moved = _map(gw, admin, {**bare, "hub_model_id": "HuggingFaceTB/SmolLM2-1.7B-Instruct"})
    assert moved.status_code == 200 and moved.json()["changed"] == ["hub_model_id"]
    (note,) = moved.json()["notes"]
    assert "hub_model_id of live model 'smol-priced' changed from " in note
    assert "HuggingFaceTB/SmolLM2-360M-Instruct" in note and "--allow-delete" in note
    audit = gw.rows(
        "SELECT action, after FROM registry_audit WHERE model_id = ? ORDER BY id", "smol-priced"
    )
    prices = [json.loads(a["after"])["pricing"]["input_per_million_usd"] for a in audit]
    assert prices == ["0.30", "0.30", "0.25", "0.25"]
    # The CLI sends only what it is given, and says what changed.
    hub = ("--hub", "HuggingFaceTB/SmolLM2-1.7B-Instruct", "--task", "conversational")
    route = ("--route", "local:smollm2-135m-instruct", "--context-length", "2048")
    config = ("--config", *gw.config_args[1:])
    cli = gw.cli("models", "map", *config, "--id", "smol-priced", *hub, *route)
    said = "(conversational, live) (status kept; --status changes it); changed: context_length"
    assert said in cli.stdout, cli.stdout + cli.stderr
    listed = json.loads(gw.cli("models", "list", "--config", *gw.config_args[1:], "--json").stdout)
    row = next(r for r in listed if r["provider_model_id"] == "smol-priced")
    assert row["pricing"]["input_per_million_usd"] == "0.25" and row["context_length"] == 2048
