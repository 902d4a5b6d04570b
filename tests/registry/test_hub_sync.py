"""``gatewayz hf sync`` against the Hub stand-in: every plan branch and every error."""

from __future__ import annotations

import time

from gatewayz.hub_standin import LIST_KEY
from tests.registry.conftest import PROVIDER, Workdir

CHAT = "HuggingFaceTB/SmolLM2-135M-Instruct"
BASE = "HuggingFaceTB/SmolLM2-135M"
LORA_TAGS = ["base_model:adapter:black-forest-labs/FLUX.1-dev", "lora"]
LORA_KEY = "tag-filter=" + ",".join(LORA_TAGS)
EXPECTED = {
    "conversational": {CHAT: {"providerId": "smol-chat", "status": "live"}},
    "text-generation": {BASE: {"providerId": "smol-base", "status": "staging"}},
    "text-to-image": {
        LORA_KEY: {
            "providerId": "flux-lora",
            "status": "live",
            "adapterType": "lora",
            "tags": LORA_TAGS,
        }
    },
}


def writes(workdir: Workdir) -> list[tuple[str, str, int]]:
    return [c for c in workdir.hub.calls() if c[0] != "GET"]


def test_dry_run_prints_the_plan_and_changes_nothing(workdir: Workdir) -> None:
    out = workdir.sync("--dry-run", token=None)  # the listing is public: no token needed
    assert out.returncode == 0, out.stdout + out.stderr
    assert "3 to create, 0 to update status, 0 to delete" in out.stdout
    assert f"+ create conversational {CHAT} -> smol-chat (live)" in out.stdout
    assert f"+ create text-to-image {LORA_KEY} -> flux-lora (live)" in out.stdout
    assert "dry run: nothing was changed" in out.stdout
    assert writes(workdir) == []
    assert workdir.hub.grouped(PROVIDER) == {}


def test_sync_creates_all_then_a_second_run_changes_nothing(workdir: Workdir) -> None:
    first = workdir.sync()
    assert first.returncode == 0, first.stdout + first.stderr
    assert "applied 3 of 3 changes; 0 failed" in first.stdout
    assert workdir.hub.grouped(PROVIDER) == EXPECTED
    version, audits = workdir.version(), workdir.audit_count()
    calls_before = len(workdir.hub.calls())

    second = workdir.sync()
    assert second.returncode == 0, second.stdout + second.stderr
    assert "nothing to do: the Hub's 3 mappings" in second.stdout
    new_calls = workdir.hub.calls()[calls_before:]
    assert [c[0] for c in new_calls] == ["GET"]
    # The sync reads the registry and never writes to it.
    assert (workdir.version(), workdir.audit_count()) == (version, audits)


def test_status_difference_is_updated(workdir: Workdir) -> None:
    workdir.hub.seed(PROVIDER, "conversational", CHAT, "smol-chat", "staging")
    out = workdir.sync()
    assert out.returncode == 0, out.stdout + out.stderr
    assert "2 to create, 1 to update status, 0 to delete" in out.stdout
    assert f"~ update status conversational {CHAT}: staging -> live" in out.stdout
    assert any(c[0] == "PUT" and c[1].endswith("/status") for c in workdir.hub.calls())
    assert workdir.hub.grouped(PROVIDER) == EXPECTED


MINILM = "sentence-transformers/all-MiniLM-L6-v2"
RETIRED = {MINILM: {"providerId": "retired-embedder", "status": "live"}}


def test_live_mapping_the_registry_lacks_is_deleted_only_with_allow_delete(
    workdir: Workdir,
) -> None:
    workdir.hub.seed(PROVIDER, "sentence-similarity", MINILM, "retired-embedder", "live")
    held = workdir.sync()
    assert held.returncode == 3, held.stdout + held.stderr  # held back, nothing failed
    assert "3 to create, 0 to update status, 0 to delete, 1 held back" in held.stdout
    assert (
        f"held back: delete sentence-similarity {MINILM} (was -> retired-embedder, live) "
        "(pass --allow-delete)"
    ) in held.stdout
    assert workdir.hub.grouped(PROVIDER) == {**EXPECTED, "sentence-similarity": RETIRED}
    assert not workdir.hub.calls("DELETE")

    out = workdir.sync("--allow-delete")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 to create, 0 to update status, 1 to delete" in out.stdout
    assert f"- delete sentence-similarity {MINILM}" in out.stdout
    assert workdir.hub.grouped(PROVIDER) == EXPECTED


def test_staging_mapping_the_registry_lacks_is_deleted(workdir: Workdir) -> None:
    workdir.hub.seed(PROVIDER, "sentence-similarity", MINILM, "retired-embedder", "staging")
    out = workdir.sync()
    assert out.returncode == 0, out.stdout + out.stderr
    assert "3 to create, 0 to update status, 1 to delete" in out.stdout
    assert workdir.hub.grouped(PROVIDER) == EXPECTED


def test_changed_provider_model_of_a_live_mapping_is_replaced_only_with_allow_delete(
    workdir: Workdir,
) -> None:
    workdir.hub.seed(PROVIDER, "conversational", CHAT, "old-chat-id", "live")
    held = workdir.sync()
    assert held.returncode == 3, held.stdout + held.stderr
    assert f"held back: delete conversational {CHAT} (was -> old-chat-id, live)" in held.stdout
    assert f"held back: create conversational {CHAT} -> smol-chat (live)" in held.stdout
    assert workdir.hub.grouped(PROVIDER)["conversational"][CHAT]["providerId"] == "old-chat-id"

    out = workdir.sync("--allow-delete")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 to create, 0 to update status, 1 to delete" in out.stdout
    assert f"- delete conversational {CHAT} (was -> old-chat-id, live)" in out.stdout
    assert workdir.hub.grouped(PROVIDER) == EXPECTED


def test_live_mapping_is_demoted_only_with_allow_demote(workdir: Workdir) -> None:
    workdir.hub.seed(PROVIDER, "text-generation", BASE, "smol-base", "live")  # staging here
    held = workdir.sync()
    assert held.returncode == 3, held.stdout
    assert (
        f"held back: update status text-generation {BASE}: live -> staging (pass --allow-demote)"
    ) in held.stdout
    assert workdir.hub.grouped(PROVIDER)["text-generation"][BASE]["status"] == "live"
    assert not workdir.hub.calls("PUT")
    out = workdir.sync("--allow-demote")
    assert out.returncode == 0, out.stdout
    assert workdir.hub.grouped(PROVIDER) == EXPECTED


def test_registry_changes_are_planned_on_the_next_sync(workdir: Workdir) -> None:
    bigger = "HuggingFaceTB/SmolLM2-360M-Instruct"
    mapped = workdir.cli(
        "models",
        "map",
        "--id",
        "smol-360",
        "--hub",
        bigger,
        "--task",
        "conversational",
        "--route",
        "chat:smollm2-360m",
    )
    assert mapped.returncode == 0, mapped.stderr
    first = workdir.sync()
    assert "4 to create" in first.stdout and first.returncode == 0, first.stdout
    assert workdir.hub.grouped(PROVIDER)["conversational"][bigger]["status"] == "staging"

    workdir.pass_checks("smol-360")  # going live needs a passing check
    assert workdir.cli("models", "set-status", "smol-360", "live").returncode == 0
    out = workdir.sync()
    assert "0 to create, 1 to update status, 0 to delete" in out.stdout, out.stdout
    assert workdir.hub.grouped(PROVIDER)["conversational"][bigger]["status"] == "live"

    assert workdir.cli("models", "unmap", "smol-360").returncode == 0
    held = workdir.sync()  # it is live on the Hub: its deletion waits for the flag
    assert held.returncode == 3 and "0 to delete, 1 held back" in held.stdout, held.stdout
    out = workdir.sync("--allow-delete")
    assert "0 to create, 0 to update status, 1 to delete" in out.stdout, out.stdout
    assert workdir.hub.grouped(PROVIDER) == EXPECTED


def test_entries_named_by_the_config_file_change_only_there(workdir: Workdir) -> None:
    out = workdir.cli("models", "set-status", "smol-base", "live")
    assert out.returncode == 1
    assert "'smol-base' is defined in the configuration file" in out.stderr


def test_401_unknown_token_is_reported_per_mapping_without_retry(workdir: Workdir) -> None:
    assert len(workdir.models()) == 3
    version = workdir.version()
    out = workdir.sync(token="hf_not_a_real_token")
    assert out.returncode == 1
    assert out.stdout.count("FAILED") == 3
    assert "HTTP 401: the Hub rejected the token" in out.stdout
    assert len(workdir.hub.calls("POST")) == 3  # one attempt each: a 401 is not retried
    assert workdir.hub.grouped(PROVIDER) == {}
    assert workdir.version() == version


def test_403_token_outside_the_provider_org(workdir: Workdir) -> None:
    workdir.hub.add_token("hf_someone_else", {"another-org"})
    out = workdir.sync(token="hf_someone_else")
    assert out.returncode == 1
    assert out.stdout.count("HTTP 403: the token has no write access") == 3
    assert len(workdir.hub.calls("POST")) == 3


def test_409_is_reported_for_that_mapping_and_the_others_apply(workdir: Workdir) -> None:
    workdir.hub.fail(CHAT, 409)
    out = workdir.sync()
    assert out.returncode == 1
    assert f"FAILED create conversational {CHAT} -> smol-chat (live): HTTP 409" in out.stdout
    assert "applied 2 of 3 changes; 1 failed" in out.stdout
    assert len([c for c in workdir.hub.calls("POST") if c[2] == 409]) == 1  # not retried
    assert CHAT not in workdir.hub.grouped(PROVIDER).get("conversational", {})
    # Fixed on the Hub's side: the next run creates only what is missing.
    again = workdir.sync()
    assert again.returncode == 0 and "1 to create, 0 to update status" in again.stdout


def test_422_when_the_hub_model_pipeline_tag_does_not_fit_the_task(workdir: Workdir) -> None:
    # SmolLM2-135M (base) is a text-generation model without the conversational tag.
    mapped = workdir.cli(
        "models",
        "map",
        "--id",
        "smol-base-chat",
        "--hub",
        BASE,
        "--task",
        "conversational",
        "--status",
        "live",
        "--force",
        "--route",
        "chat:smollm2-base",
    )
    assert mapped.returncode == 0, mapped.stderr
    workdir.pass_checks("smol-base-chat")  # pushed live only with a passing check
    out = workdir.sync()
    # Skipped by rule is reported, and no failure (issue 14): exit 0.
    assert out.returncode == 0, out.stdout
    assert "3 of 4 entries to push; 1 skipped (see above)" in out.stdout
    # Asked of the Hub's model info before anything is sent: never POSTed.
    assert (
        "! skipped smol-base-chat: HuggingFaceTB/SmolLM2-135M has pipeline_tag "
        "'text-generation' on the Hub, which does not fit 'conversational'; not pushed"
    ) in out.stdout
    assert "applied 3 of 3 changes; 0 failed" in out.stdout
    assert len(workdir.hub.calls("POST")) == 3


def test_422_from_the_hub_itself_is_reported(workdir: Workdir) -> None:
    workdir.hub.fail(CHAT, 422)
    out = workdir.sync()
    assert out.returncode == 1
    assert (
        f"FAILED create conversational {CHAT} -> smol-chat (live): HTTP 422: "
        "the Hub refused the mapping - injected failure 422"
    ) in out.stdout
    assert "applied 2 of 3 changes; 1 failed" in out.stdout


def test_429_is_retried_after_retry_after(workdir: Workdir) -> None:
    workdir.hub.fail(CHAT, 429, times=1, **{"Retry-After": "1"})
    started = time.monotonic()
    out = workdir.sync()
    assert out.returncode == 0, out.stdout
    posts = [c for c in workdir.hub.calls("POST")]
    assert [c[2] for c in posts].count(429) == 1 and len(posts) == 4
    assert time.monotonic() - started >= 1.0  # waited as told
    assert workdir.hub.grouped(PROVIDER) == EXPECTED


def test_429_that_persists_is_reported_after_the_retries(workdir: Workdir) -> None:
    workdir.hub.fail(CHAT, 429, times=3, **{"Retry-After": "0.1"})
    out = workdir.sync()
    assert out.returncode == 1
    assert "HTTP 429 after 3 attempts: the Hub kept rate-limiting" in out.stdout
    assert "applied 2 of 3 changes; 1 failed" in out.stdout


def test_5xx_is_retried_with_backoff(workdir: Workdir) -> None:
    workdir.hub.fail(LORA_KEY, 503, times=2)
    out = workdir.sync()
    assert out.returncode == 0, out.stdout
    assert [c[2] for c in workdir.hub.calls("POST")].count(503) == 2
    assert workdir.hub.grouped(PROVIDER) == EXPECTED


def test_5xx_that_persists_is_reported(workdir: Workdir) -> None:
    workdir.hub.seed(PROVIDER, "conversational", CHAT, "smol-chat", "staging")
    workdir.hub.fail(CHAT, 500, times=3)
    before = workdir.models()
    version = workdir.version()
    out = workdir.sync()
    assert out.returncode == 1
    assert (
        f"FAILED update status conversational {CHAT}: staging -> live: "
        "HTTP 500 after 3 attempts: the Hub failed"
    ) in out.stdout
    # A failed sync leaves the registry as it was.
    assert workdir.version() == version and workdir.models() == before


def test_unreadable_hub_listing_stops_before_any_change(workdir: Workdir) -> None:
    workdir.hub.fail(LIST_KEY, 502, times=3)
    out = workdir.sync()
    assert out.returncode == 1
    assert (
        "cannot read the Hub's mappings" in out.stdout and "HTTP 502 after 3 attempts" in out.stdout
    )
    assert writes(workdir) == []


def test_unknown_provider_listing_is_reported(workdir: Workdir) -> None:
    out = workdir.cli(
        "hf", "sync", "--provider", "nobody", "--hub-url", workdir.hub.url, "--dry-run"
    )
    assert out.returncode == 1
    assert "HTTP 404" in out.stdout


def test_missing_token_is_a_clear_error(workdir: Workdir) -> None:
    out = workdir.sync(token=None)
    assert out.returncode == 2
    assert "HF_TOKEN is not set" in out.stderr
    assert workdir.hub.calls() == []


def test_two_models_claiming_one_hub_mapping_are_reported(workdir: Workdir) -> None:
    mapped = workdir.cli(
        "models",
        "map",
        "--id",
        "smol-chat-2",
        "--hub",
        CHAT,
        "--task",
        "conversational",
        "--route",
        "chat:smollm2",
    )
    assert mapped.returncode == 0, mapped.stderr
    out = workdir.sync()
    assert out.returncode == 0  # skipped by rule and said so: not a failure (hf sync --help)
    assert (
        "! skipped smol-chat-2: conversational HuggingFaceTB/SmolLM2-135M-Instruct is "
        "already mapped to smol-chat" in out.stdout
    )
    assert workdir.hub.grouped(PROVIDER) == EXPECTED
