"""``hf sync`` cannot be broken by accident: a registry opened from the wrong directory, an
empty one, local-only entries and Hub ids that are not Hub models; and the stand-in run as
the operator's tool (``gatewayz hf stand-in``), its state kept across a restart."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
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


def test_a_relative_database_opened_from_another_directory_is_refused(
    tmp_path: Path, hub: HubStandin
) -> None:
    """Run from the wrong directory, no command that reads the registry or usage creates a
    database there: each exits 2 naming the absolute path, and the Hub is never called."""
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
    kit = ("hf", "provider-kit", "--name", "acme-ai", "--base-url", "https://a.example")
    db = elsewhere / "gatewayz.db"
    commands = [
        (*sync, "--dry-run"),
        sync,
        sync,  # a second run says the same (it once went quiet)
        ("models", "list"),
        ("models", "set-status", "smol-chat", "staging"),
        (*kit, "--out", str(elsewhere / "kit")),
        ("usage", "export"),
        ("keys", "list"),
    ]
    for command in commands:
        out = run(elsewhere, *command, env=env)
        assert out.returncode == 2, (command, out.stdout, out.stderr)
        assert f"no Gatewayz database at {db}" in out.stderr, command
        assert f"relative to the current directory, {elsewhere})" in out.stderr
        assert "Run it from the gateway's directory, or pass --config" in out.stderr
        assert "Traceback" not in out.stderr and out.stdout == "", command
        assert not db.exists() and not (elsewhere / "kit").exists(), command
    assert hub.calls() == [] and hub.grouped(PROVIDER) == before
    # From the gateway's directory, where its database is, the same commands work.
    assert run(tmp_path, "keys", "create", "--name", "ops", env=env).returncode == 0
    listed = run(tmp_path, "models", "list", env=env)
    assert listed.returncode == 0 and "smol-chat" in listed.stdout, listed.stderr


def test_a_file_that_is_not_a_gatewayz_database_is_refused_untouched(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE notes (text TEXT)")
    content = other.read_bytes()
    config = registry_config(other)
    (tmp_path / "gatewayz.yaml").write_text(yaml.safe_dump(config))
    out = run(tmp_path, "models", "list", env={"GATEWAYZ_CONFIG": str(tmp_path / "gatewayz.yaml")})
    assert out.returncode == 2, out.stdout + out.stderr
    assert f"{other} is not a Gatewayz database" in out.stderr
    assert other.read_bytes() == content


def test_an_empty_registry_warns_and_deletes_no_live_mapping(
    workdir: Workdir, hub: HubStandin
) -> None:
    before = seed_live_hub(hub)
    # A database no command opened before (the workdir's own was made by its fixture).
    config = registry_config(workdir.db.with_name("mistaken.db"))
    config["models"] = []
    workdir.write_config(config)
    # Made by a command that may create it (every other refuses a missing database).
    assert workdir.cli("keys", "create", "--name", "ops").returncode == 0
    out = workdir.sync()
    assert out.returncode == 3, out.stdout + out.stderr
    assert "(0 entries)" in out.stdout and "0 of 0 entries to push" in out.stdout
    assert "warning: the registry is empty" in out.stdout
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
    assert run(tmp_path, "keys", "create", "--name", "ops", env=env).returncode == 0
    out = run(tmp_path, "hf", "sync", "--provider", PROVIDER, "--hub-url", hub.url, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "registry: sqlite:///" in out.stdout and "(7 entries)" in out.stdout
    assert "3 of 3 entries to push (4 local-only left out)" in out.stdout
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
    listed = run(tmp_path, "models", "list", env=env).stdout.splitlines()
    vader = next(line for line in listed if line.startswith("vader-sentiment"))
    assert " local-only " in vader
    chat = next(line for line in listed if line.startswith("smollm2-135m-instruct"))
    assert " pushable " in chat and "synced" not in "".join(listed)
    # Columns sized to their content: each starts at its header's offset, long task
    # names (zero-shot-classification) included.
    header = listed[0]
    for name in ("hub model", "task", "status", "hub sync", "last check", "routes"):
        at = header.index(name)
        for line in listed[1:]:
            assert line[at - 1] == " " and line[at] != " ", (name, line)
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
    # Skipped by rule is no failure: exit 0, the skip said plainly and counted.
    assert out.returncode == 0, out.stdout
    assert "local-only, never pushed: ours" in out.stdout
    assert (
        "! skipped theirs: acme/not-on-the-hub is not a model on the Hub (HTTP 404); not pushed"
        in out.stdout
    )
    assert "3 of 4 entries to push (1 local-only left out); 1 skipped (see above)" in out.stdout
    assert "applied 3 of 3 changes; 0 failed" in out.stdout
    assert "not-on-the-hub" not in json.dumps(workdir.hub.grouped(PROVIDER))
    assert len(workdir.hub.calls("POST")) == 3
    again = workdir.sync()
    assert again.returncode == 0, again.stdout
    assert "match the registry (but for the 1 skipped above)" in again.stdout
    assert "--allow-delete" in workdir.cli("hf", "sync", "--help").stdout
    assert "exit status:" in workdir.cli("hf", "sync", "--help").stdout


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
        assert (
            f"Rehearse with: HF_ENDPOINT=http://127.0.0.1:{port} HF_TOKEN=$HF_TOKEN gatewayz hf "
            "sync --provider acme-ai --dry-run" in log.read_text()
        )  # the operator's own token is not printed
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
        assert run(tmp_path, "keys", "create", "--name", "ops", env=cfg).returncode == 0
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
        # Live in the registry but never checked (hf check): pushed as staging.
        assert mapped["inferenceProviderMapping"] == {
            "acme-ai": {"status": "staging", "providerId": "tiny", "task": "conversational"}
        }
        again = run(tmp_path, "hf", "sync", "--provider", "acme-ai", env=cfg)
        assert again.returncode == 0 and "nothing to do" in again.stdout, again.stdout
    finally:
        second.send_signal(signal.SIGINT)
        second.wait(10)


def test_a_database_without_the_schema_is_refused_on_either_backend(
    tmp_path: Path, hub: HubStandin, database_url: str
) -> None:
    hub.reset(PROVIDER, TOKEN)
    config = registry_config(tmp_path / "unused.db")
    config["database_url"] = database_url
    (tmp_path / "gatewayz.yaml").write_text(yaml.safe_dump(config))
    env = {"GATEWAYZ_CONFIG": str(tmp_path / "gatewayz.yaml")}
    first = run(tmp_path, "models", "list", env=env)
    assert first.returncode == 2, first.stdout + first.stderr
    assert database_url.rsplit("/", 1)[1] in first.stderr and "creates none" in first.stderr
    assert "'gatewayz serve' or 'gatewayz keys create' creates one" in first.stderr
    assert not (tmp_path / "shared.db").exists()
    # keys create makes it; then the registry commands work, with no warning.
    assert run(tmp_path, "keys", "create", "--name", "ops", env=env).returncode == 0
    sync = ("hf", "sync", "--provider", PROVIDER, "--hub-url", hub.url, "--dry-run")
    again = run(tmp_path, *sync, env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stderr == "" and "(3 entries)" in again.stdout
    assert "3 of 3 entries to push" in again.stdout


def test_the_stand_in_prints_a_rehearsal_that_runs_as_written(workdir: Workdir) -> None:
    """With no HF_TOKEN, the stand-in makes a token and its 'Rehearse with:' line carries
    it: pasted into a shell in the gateway's directory, the dry run works."""
    port = free_port()
    log = workdir.path / "stand-in.log"
    full = {k: v for k, v in os.environ.items() if k not in ("HF_TOKEN", "GATEWAYZ_CONFIG")}
    args = ["hf", "stand-in", "--port", str(port), "--provider", PROVIDER]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [PYTHON, "-m", "gatewayz", *args], env=full, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        wait_http(f"http://127.0.0.1:{port}/api/partners/{PROVIDER}/models", proc, log)
        line = next(x for x in log.read_text().splitlines() if x.startswith("Rehearse with: "))
        command = line.removeprefix("Rehearse with: ")
        assert " HF_TOKEN=hf_standin_" in command
        shell = {**full, "GATEWAYZ_CONFIG": str(workdir.config_path)}
        shell["PATH"] = f"{Path(PYTHON).parent}:{shell['PATH']}"
        done = subprocess.run(
            ["bash", "-c", command],
            cwd=workdir.path,
            env=shell,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "dry run: nothing was changed" in done.stdout
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(10)
