"""``gatewayz hf check``'s probes through ``@huggingface/inference`` (Node, the library in
clients/js): present and passing against a good upstream, failing against a broken one
with the reason, and a clear skip - never a pass - when Node or the library is missing."""

from __future__ import annotations

import os
from pathlib import Path

from tests.hf_check.conftest import hf_check_json, probes
from tests.hf_check.test_check_upstreams import JS_PROBES as STREAMED
from tests.servers import PYTHON, Gateway


def test_js_probes_pass_against_a_good_upstream_and_are_recorded(
    gw: Gateway, admin_key: str
) -> None:
    code, doc = hf_check_json(gw, admin_key, "--model", "good-chat-hf")
    assert code == 0, doc
    js = probes(doc, "good-chat-hf", "js")
    assert {name: p["result"] for name, p in js.items()} == dict.fromkeys(STREAMED, "pass")
    assert js["first_token"]["latency_ms"] < 5000 and js["call"]["latency_ms"] is not None
    (report,) = doc["models"]
    assert report["passed"] is True and report["recorded"] is True


def test_js_probes_fail_against_a_broken_upstream(gw: Gateway, admin_key: str) -> None:
    code, doc = hf_check_json(gw, admin_key, "--model", "slow-chat", "--model", "down-chat")
    assert code == 1 and [m["passed"] for m in doc["models"]] == [False, False]

    slow = probes(doc, "slow-chat", "js")
    assert slow["first_token"]["result"] == "fail"
    assert "over the 5 s bound" in slow["first_token"]["reason"]
    assert slow["first_token"]["latency_ms"] >= 5000
    assert slow["stream"]["result"] == "pass" and slow["inference_id_stream"]["result"] == "pass"

    down = probes(doc, "down-chat", "js")
    assert down["call"]["result"] == "fail"
    # The library's own error, with the gateway's status and message.
    reason = down["call"]["reason"]
    assert reason.startswith("ProviderApiError: Failed to perform inference"), reason
    assert "The gateway said: " in reason and "(HTTP 502)" in reason, reason
    assert {down[p]["result"] for p in STREAMED - {"call"}} == {"skip"}
    assert admin_key not in str(doc)


def test_without_the_library_or_node_the_js_probes_are_skipped_saying_why(
    gw: Gateway, admin_key: str, tmp_path: Path
) -> None:
    nowhere = os.path.join(tmp_path, "no-js-here")
    code, doc = hf_check_json(
        gw, admin_key, "--model", "good-chat", "--no-record", "--js-client", nowhere
    )
    # Skipped is not failed: the Python client's probes decide.
    assert code == 0 and doc["passed"] is True
    (skip,) = probes(doc, "good-chat", "js").values()
    assert skip["probe"] == "js_client" and skip["result"] == "skip"
    assert skip["reason"].startswith("@huggingface/inference not found: no ")
    assert f"{nowhere}/node_modules/@huggingface/inference (--js-client;" in skip["reason"]

    # No node on PATH (only the Python that runs the CLI).
    no_node = {**gw.env, "PATH": os.path.dirname(PYTHON)}
    code, doc = hf_check_json(gw, admin_key, "--model", "good-chat", "--no-record", env=no_node)
    assert code == 0
    (skip,) = probes(doc, "good-chat", "js").values()
    assert skip["result"] == "skip" and skip["reason"] == "Node.js not found (no node on PATH)"


def test_a_library_that_does_not_load_fails_the_check_saying_why(
    gw: Gateway, admin_key: str, tmp_path: Path
) -> None:
    library = tmp_path / "node_modules" / "@huggingface" / "inference"
    library.mkdir(parents=True)
    (library / "package.json").write_text('{"type": "module", "main": "index.js"}')
    (library / "index.js").write_text("export const notAClient = 1;\n")
    code, doc = hf_check_json(
        gw, admin_key, "--model", "good-chat", "--no-record", "--js-client", str(tmp_path)
    )
    assert code == 1 and doc["passed"] is False
    (row,) = probes(doc, "good-chat", "js").values()
    assert row["probe"] == "js_client" and row["result"] == "fail"
    assert row["reason"] == (
        f"cannot load @huggingface/inference from {library}: Error: it exports no InferenceClient"
    )


def test_text_generation_through_both_clients(gw: Gateway, admin_key: str) -> None:
    code, doc = hf_check_json(gw, admin_key, "--model", "good-text", "--no-record")
    assert code == 0, doc
    for client in ("python", "js"):
        found = probes(doc, "good-text", client)
        assert {name: p["result"] for name, p in found.items()} == dict.fromkeys(
            STREAMED, "pass"
        ), (client, found)
