"""``hf sync`` cannot be broken by accident: a registry opened from the wrong directory, an
empty one, local-only entries and Hub ids that are not Hub models; and the stand-in run as
the operator's tool (``gatewayz hf stand-in``), its state kept across a restart."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import httpx
import yaml

from gatewayz.hub_standin import HubStandin
from tests.registry.conftest import PROVIDER, TOKEN, Workdir, registry_config
from tests.servers import PYTHON, free_port, wait_http

CHAT = "HuggingFaceTB/SmolLM2-135M-Instruct"
LLAMA = "meta-llama/Llama-3.1-8B-Instruct"


def run(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k not in ("HF_TOKEN", "GATEWAYZ_CONFIG")}
    return subprocess.run(
        [PYTHON, "-m", "gatewayz", *args],
        cwd=cwd,
        env={**full, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def seed_live_hub(hub: HubStandin) -> dict[str, Any]:
    """What the Hub holds after an earlier sync of the real registry: the configuration
    file's model and one made through the API, both live, and a staging one."""
    hub.seed(PROVIDER, "conversational", CHAT, "smol-chat", "live")
    hub.seed(PROVIDER, "conversational", LLAMA, "llama-3.1-8b", "live")
    hub.seed(PROVIDER, "text-generation", "HuggingFaceTB/SmolLM2-135M", "smol-base", "staging")
    return hub.grouped(PROVIDER)


def test_a_relative_database_opened_from_another_directory_deletes_nothing(
    tmp_path: Path, hub: HubStandin
) -> None:
    hub.reset(PROVIDER, TOKEN)
    before = seed_live_hub(hub)
    config = registry_config(tmp_path / "unused.db")
    config["database_url"] = "sqlite:///./gatewayz.db"  # as the guide once wrote it
    config["models"] = config["models"][:1]
    (tmp_path / "gatewayz.yaml").write_text(yaml.safe_dump(config))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {"HF_TOKEN": TOKEN, "GATEWAYZ_CONFIG": str(tmp_path / "gatewayz.yaml")}
    sync = ("hf", "sync", "--provider", PROVIDER, "--hub-url", hub.url)

    plan = run(elsewhere, *sync, "--dry-run", env=env)
    assert plan.returncode == 3, plan.stdout + plan.stderr
    db = elsewhere / "gatewayz.db"
    assert f"created a new database at sqlite:///{db}" in plan.stderr
    assert f"relative to the current directory, {elsewhere}" in plan.stderr
    assert f"registry: sqlite:///{db} (1 entries, 1 to push)" in plan.stdout
    assert "warning: this database was created just now" in plan.stdout
    assert (
        f"held back: delete conversational {LLAMA} (was -> llama-3.1-8b, live) "
        "(pass --allow-delete)" in plan.stdout
    )

    applied = run(elsewhere, *sync, env=env)
    assert applied.returncode == 3, applied.stdout + applied.stderr
    assert "held back" in applied.stdout
    grouped = hub.grouped(PROVIDER)
    assert grouped["conversational"] == before["conversational"]  # both live ones stay
    assert not [c for c in hub.calls("DELETE") if c[2] < 300 and "llama" in c[1]]


def test_an_empty_registry_warns_and_deletes_no_live_mapping(
    workdir: Workdir, hub: HubStandin
) -> None:
    before = seed_live_hub(hub)
    # A database no command opened before (the workdir's own was made by its fixture).
    config = registry_config(workdir.db.with_name("mistaken.db"))
    config["models"] = []
    workdir.write_config(config)
    out = workdir.sync()
    assert out.returncode == 3, out.stdout + out.stderr
    assert "(0 entries, 0 to push)" in out.stdout
    assert "warning: this database was created just now" in out.stdout
    assert "warning: the registry has no mapping to push, and the Hub holds 3" in out.stdout
    assert "0 to create, 0 to update status, 1 to delete, 2 held back" in out.stdout
    # Only the staging mapping went; the live ones wait for --allow-delete.
    assert hub.grouped(PROVIDER) == {"conversational": before["conversational"]}
    again = workdir.sync()
    assert "warning: the registry is empty" in again.stdout and again.returncode == 3


def test_local_only_entries_are_listed_and_never_pushed(tmp_path: Path, hub: HubStandin) -> None:
    """The embedded default: VADER and Apertium have no Hub model, MiniLM's pipeline tag
    is neither zero-shot nor summarization; only the others are pushed (as staging: no
    ``hf check`` of them was run here, and the sync never pushes an unchecked model live)."""
    hub.reset(PROVIDER, TOKEN)
    env = {"HF_TOKEN": TOKEN, "GATEWAYZ_DATABASE_URL": f"sqlite:///{tmp_path / 'e.db'}"}
    out = run(tmp_path, "hf", "sync", "--provider", PROVIDER, "--hub-url", hub.url, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert (
        "local-only, never pushed: apertium-en-es, minilm-textrank-summarizer, "
        "minilm-zero-shot, vader-sentiment" in out.stdout
    )
    assert "applied 3 of 3 changes; 0 failed" in out.stdout
    for model in ("smollm2-135m-instruct", "all-minilm-l6-v2", "en-core-web-sm"):
        assert f"! {model} is not pushed as live: model '{model}' has no conformance check" in (
            out.stdout
        )
    assert hub.grouped(PROVIDER) == {
        "conversational": {CHAT: {"providerId": "smollm2-135m-instruct", "status": "staging"}},
        "feature-extraction": {
            "sentence-transformers/all-MiniLM-L6-v2": {
                "providerId": "all-minilm-l6-v2",
                "status": "staging",
            }
        },
        "token-classification": {
            "spacy/en_core_web_sm": {"providerId": "en-core-web-sm", "status": "staging"}
        },
    }
    posted = [c for c in hub.calls("POST")]
    assert len(posted) == 3
    listed = run(tmp_path, "models", "list", env=env).stdout
    vader = next(line for line in listed.splitlines() if line.startswith("vader-sentiment"))
    assert " local-only " in vader
    listing = json.loads(run(tmp_path, "models", "list", "--json", env=env).stdout)
    rows = {r["provider_model_id"]: r for r in listing}
    assert rows["apertium-en-es"]["local_only"] is True
    assert rows["smollm2-135m-instruct"]["local_only"] is False


def test_a_mapping_made_local_only_is_not_pushed_and_a_fake_hub_id_is_refused(
    workdir: Workdir,
) -> None:
    fake = ("--hub", "acme/not-on-the-hub", "--task", "conversational", "--route", "chat:x")
    assert workdir.cli("models", "map", "--id", "ours", *fake, "--local-only").returncode == 0
    assert workdir.cli("models", "map", "--id", "theirs", *fake).returncode == 0
    out = workdir.sync()
    assert out.returncode == 1, out.stdout
    assert "local-only, never pushed: ours" in out.stdout
    assert (
        "! skipped theirs: acme/not-on-the-hub is not a model on the Hub (HTTP 404); not pushed"
        in out.stdout
    )
    assert "not-on-the-hub" not in json.dumps(workdir.hub.grouped(PROVIDER))
    assert len(workdir.hub.calls("POST")) == 3


def test_the_stand_in_command_keeps_its_state_across_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "hub.json"
    port = free_port()
    env = {"HF_TOKEN": "hf_rehearsal"}
    log = tmp_path / "stand-in.log"
    known = "acme/tiny-chat=text-generation,conversational"

    def start() -> subprocess.Popen[bytes]:
        full = {k: v for k, v in os.environ.items() if k != "GATEWAYZ_CONFIG"}
        args = ["hf", "stand-in", "--port", str(port), "--state", str(state)]
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [PYTHON, "-m", "gatewayz", *args, "--provider", "acme-ai", "--model", known],
                cwd=tmp_path,
                env={**full, **env},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        wait_http(f"http://127.0.0.1:{port}/api/partners/acme-ai/models", proc, log)
        return proc

    first = start()
    try:
        assert f"Rehearse with: HF_ENDPOINT=http://127.0.0.1:{port} gatewayz hf sync" in (
            log.read_text()
        )
        info = httpx.get(f"http://127.0.0.1:{port}/api/models/acme/tiny-chat").json()
        assert info == {
            "id": "acme/tiny-chat",
            "pipeline_tag": "text-generation",
            "tags": ["conversational"],
        }
        config = registry_config(tmp_path / "r.db")
        config["models"] = [
            {
                "id": "tiny",
                "hub_model_id": "acme/tiny-chat",
                "task": "conversational",
                "status": "staging",  # never checked: it would be pushed as staging anyway
                "routes": [{"provider": "chat", "model": "tiny"}],
            }
        ]
        (tmp_path / "gatewayz.yaml").write_text(yaml.safe_dump(config))
        cfg = {
            **env,
            "GATEWAYZ_CONFIG": str(tmp_path / "gatewayz.yaml"),
            "HF_ENDPOINT": f"http://127.0.0.1:{port}",
        }
        out = run(tmp_path, "hf", "sync", "--provider", "acme-ai", env=cfg)
        assert out.returncode == 0, out.stdout + out.stderr
        assert "applied 1 of 1 changes" in out.stdout
        wrong = httpx.post(
            f"http://127.0.0.1:{port}/api/partners/acme-ai/models",
            json={"task": "conversational", "hfModel": CHAT, "providerModel": "x"},
            headers={"Authorization": "Bearer hf_someone_else"},
        )
        assert wrong.status_code == 401
    finally:
        first.send_signal(signal.SIGINT)
        first.wait(10)
    saved = json.loads(state.read_text())
    assert "hf_rehearsal" not in state.read_text()  # tokens are never written
    assert saved["mappings"]["acme-ai"][0]["provider_model"] == "tiny"

    second = start()
    try:
        listing = httpx.get(f"http://127.0.0.1:{port}/api/partners/acme-ai/models").json()
        assert listing["conversational"]["acme/tiny-chat"]["providerId"] == "tiny"
        mapped = httpx.get(
            f"http://127.0.0.1:{port}/api/models/acme/tiny-chat",
            params={"expand[]": "inferenceProviderMapping"},
        ).json()
        assert mapped["inferenceProviderMapping"] == {
            "acme-ai": {"status": "staging", "providerId": "tiny", "task": "conversational"}
        }
        again = run(tmp_path, "hf", "sync", "--provider", "acme-ai", env=cfg)
        assert again.returncode == 0 and "nothing to do" in again.stdout, again.stdout
    finally:
        second.send_signal(signal.SIGINT)
        second.wait(10)


def test_a_new_database_is_named_once_on_either_backend(
    tmp_path: Path, hub: HubStandin, database_url: str
) -> None:
    hub.reset(PROVIDER, TOKEN)
    config = registry_config(tmp_path / "unused.db")
    config["database_url"] = database_url
    (tmp_path / "gatewayz.yaml").write_text(yaml.safe_dump(config))
    env = {"GATEWAYZ_CONFIG": str(tmp_path / "gatewayz.yaml")}
    first = run(tmp_path, "models", "list", env=env)
    assert first.returncode == 0, first.stderr
    assert first.stderr.startswith("warning: ") and database_url.rsplit("/", 1)[1] in first.stderr
    assert ("created a new database at" in first.stderr) == database_url.startswith("sqlite")
    sync = ("hf", "sync", "--provider", PROVIDER, "--hub-url", hub.url, "--dry-run")
    again = run(tmp_path, *sync, env=env)
    assert "warning" not in again.stderr, again.stderr
    assert "this database was created just now" not in again.stdout
    assert "(3 entries, 3 to push)" in again.stdout
