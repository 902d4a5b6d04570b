"""``gatewayz hf check`` against a gateway over real local upstreams: one that does tools
and structured output properly passes every probe (exit 0); each broken one fails the
probe it breaks (exit 1), with the reason; results are recorded and shown in the registry
and in ``GET /v1/models``."""

from __future__ import annotations

import httpx

from gatewayz.hf_check.chat import PERSON_SCHEMA
from tests.checks import bearer
from tests.hf_check.conftest import hf_check, hf_check_json, probes
from tests.servers import Gateway, ToolUpstream

PYTHON_PROBES = {
    "call",
    "shape",
    "inference_id",
    "stream",
    "first_token",
    "inference_id_stream",
    "tool_call",
    "no_tool_call",
    "json_schema",
}
# Through @huggingface/inference: the call, its shape, the stream and the ids (tools and
# structured output are probed once, through huggingface_hub).
JS_PROBES = {"call", "shape", "inference_id", "stream", "first_token", "inference_id_stream"}


def registry_entry(gw: Gateway, key: str, hub_id: str) -> dict[str, object]:
    listing = httpx.get(f"{gw.url}/hf/tasks/models/registry", headers=bearer(key)).json()
    entry: dict[str, object] = listing["conversational"][hub_id]
    return entry


def v1_providers(gw: Gateway, key: str, model: str) -> list[dict[str, object]]:
    data = httpx.get(f"{gw.url}/v1/models", headers=bearer(key)).json()["data"]
    (entry,) = [m for m in data if m["id"] == model]
    assert entry["pricing"] == {"input": 0.5, "output": 1.5} and entry["context_length"] == 4096
    providers: list[dict[str, object]] = entry["providers"]
    return providers


def test_a_tool_capable_upstream_passes_every_probe(
    gw: Gateway, admin_key: str, user_key: str, tool_upstream: ToolUpstream
) -> None:
    out = hf_check(gw, admin_key, "--model", "good-chat", "--model", "good-chat-hf")
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    for model in ("good-chat", "good-chat-hf"):
        rows = [line.split() for line in lines if line.startswith(model + " ")]
        assert {r[3]: r[4] for r in rows if r[2] == "python"} == dict.fromkeys(
            PYTHON_PROBES, "pass"
        )
        assert {r[3]: r[4] for r in rows if r[2] == "js"} == dict.fromkeys(JS_PROBES, "pass")
        assert f"{model}: PASSED (recorded)" in lines
    assert "2 of 2 models passed" in lines
    # Through the HF-kind (TGI) provider the schema reached the upstream in TGI's form
    # (the Python probes alone, so that their json_schema call is the upstream's last).
    alone = hf_check(
        gw, admin_key, "--model", "good-chat-hf", "--no-record", "--js-client", str(gw.workdir)
    )
    assert alone.returncode == 0, alone.stdout + alone.stderr
    assert tool_upstream.last()["response_format"] == {
        "type": "json_object",
        "value": PERSON_SCHEMA,
    }

    entry = registry_entry(gw, admin_key, "example/good-chat")
    check = entry["last_check"]
    assert isinstance(check, dict)
    assert check["passed"] is True and check["stale"] is False
    assert {(p["client"], p["probe"]) for p in check["probes"]} == {
        *(("python", p) for p in PYTHON_PROBES),
        *(("js", p) for p in JS_PROBES),
    }
    # Other keys see the Hub's shape only.
    assert "last_check" not in registry_entry(gw, user_key, "example/good-chat")

    (provider,) = v1_providers(gw, user_key, "good-chat")
    assert provider["status"] == "live" and provider["check"] == "passed"
    assert provider["supports_tools"] is True
    assert provider["supports_structured_output"] is True
    assert provider["is_free"] is False
    assert provider["pricing"] == {"input": 0.5, "output": 1.5}
    assert provider["context_length"] == 4096
    assert "first_token_latency_ms" in provider and "throughput" in provider


def test_each_broken_upstream_fails_the_probe_it_breaks(
    gw: Gateway, admin_key: str, user_key: str
) -> None:
    code, doc = hf_check_json(
        gw, admin_key, "--model", "notools-chat", "--model", "badjson-chat", "--model", "slow-chat"
    )
    assert code == 1 and doc["passed"] is False
    assert [m["passed"] for m in doc["models"]] == [False, False, False]
    assert all(m["recorded"] for m in doc["models"])

    notools = probes(doc, "notools-chat")
    assert notools["tool_call"]["result"] == "fail"
    assert "no tool call with tool_choice auto" in notools["tool_call"]["reason"]
    assert notools["json_schema"]["result"] == "fail"
    assert "not JSON" in notools["json_schema"]["reason"]
    assert notools["no_tool_call"]["result"] == "pass" and notools["call"]["result"] == "pass"

    badjson = probes(doc, "badjson-chat")
    assert badjson["json_schema"]["result"] == "fail"
    assert "not JSON" in badjson["json_schema"]["reason"]
    assert badjson["tool_call"]["result"] == "pass"

    slow = probes(doc, "slow-chat")
    assert slow["first_token"]["result"] == "fail"
    assert "over the 5 s bound" in slow["first_token"]["reason"]
    assert slow["first_token"]["latency_ms"] >= 5000
    assert slow["call"]["result"] == "pass" and slow["stream"]["result"] == "pass"

    (provider,) = v1_providers(gw, user_key, "notools-chat")
    assert provider["status"] == "error" and provider["check"] == "failed"
    assert provider["supports_tools"] is False
    assert provider["supports_structured_output"] is False
    check = registry_entry(gw, admin_key, "example/slow-chat")["last_check"]
    assert isinstance(check, dict) and check["passed"] is False


def test_unknown_model_and_bad_key_are_clear_errors(gw: Gateway, admin_key: str) -> None:
    out = hf_check(gw, admin_key, "--model", "no-such-model")
    assert out.returncode == 1
    assert "not in the gateway's registry (or not visible to this key): no-such-model" in out.stderr
    bad = hf_check(gw, "gw-not-a-key")
    assert bad.returncode == 1 and "cannot list the gateway's models: HTTP 401" in bad.stderr
    assert "Traceback" not in bad.stderr + out.stderr


def test_a_standard_key_checks_live_models_without_recording(
    gw: Gateway, user_key: str, admin_key: str
) -> None:
    code, doc = hf_check_json(gw, user_key, "--model", "good-chat")
    assert code == 0, doc
    (report,) = doc["models"]
    assert report["recorded"] is False
    assert report["not_recorded"] == "an admin key records results; this key is not one"
