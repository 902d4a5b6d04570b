"""The examples of docs/HUGGINGFACE_IMPLEMENTATION_GUIDE.md, run in order as an operator
would: a gateway on the guide's configuration, its example upstream being the tool-calling
upstream of tests/families (so that ``hf check`` passes for real), the guide's own
``gatewayz hf stand-in`` in place of huggingface.co, and its nginx block in front of the
gateway over TLS. The outputs the guide shows are the outputs printed."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import time
from pathlib import Path

import httpx
import yaml

from tests.servers import PYTHON, ROOT, Gateway, ToolUpstream, free_port, wait_http

GUIDE = ROOT / "docs" / "HUGGINGFACE_IMPLEMENTATION_GUIDE.md"
PROVIDER = "acme-ai"
TOKEN = "hf_guide_token"
GUIDE_PORTS = {"gateway": "127.0.0.1:8000", "stand-in": "8900"}
# The guide's upstream model names -> the tool upstream's: ``decider`` calls a tool under
# tool_choice auto only when asked to (it passes ``hf check``), ``tooly`` always does.
UPSTREAM_MODELS = {"llama-3.1-8b-instruct": "decider", "smollm2-360m-instruct": "tooly"}


def examples() -> dict[str, str]:
    text = GUIDE.read_text()
    found = re.findall(r"<!-- example: ([\w-]+) -->\n```\w+\n(.*?)```", text, flags=re.S)
    return dict(found)


def outputs() -> dict[str, list[str]]:
    """The outputs the guide shows (``<!-- output: NAME -->``), as lines."""
    text = GUIDE.read_text()
    found = re.findall(r"<!-- output: ([\w-]+) -->\n```text\n(.*?)```", text, flags=re.S)
    return {name: body.splitlines() for name, body in found}


def columns(line: str) -> list[str]:
    """An ``hf check`` report line without what varies (latency, reason): model ... result."""
    return line.split()[:5]


def assert_report(printed: str, shown: list[str], *, timed: tuple[str, ...] = ()) -> None:
    """``hf check``'s table is the one the guide shows, but for latencies and reasons (and
    the results of the ``timed`` probes, which a loaded machine can make miss their bound)."""
    lines = printed.splitlines()
    assert len(lines) == len(shown), printed
    for got, want in zip(lines, shown, strict=True):
        if len(want.split()) > 3 and want.split()[3] in timed:
            assert columns(got)[:4] == columns(want)[:4], (got, want)
        else:
            assert columns(got) == columns(want), (printed, want)
    assert lines[-2:] == shown[-2:], printed


def stream_through_nginx(block: str, gw: Gateway, key: str, workdir: Path) -> None:
    """Start nginx on the guide's block (a self-signed certificate, free ports) and stream
    a chat completion through it over TLS."""
    cert, private = workdir / "cert.pem", workdir / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(private), "-out", str(cert), "-subj", "/CN=api.acme.example"),
            *("-addext", "subjectAltName=DNS:api.acme.example,IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    port = free_port()
    server = block
    for old, new in (
        (GUIDE_PORTS["gateway"], f"127.0.0.1:{gw.port}"),
        ("listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;"),
        ("/etc/letsencrypt/live/api.acme.example/fullchain.pem", str(cert)),
        ("/etc/letsencrypt/live/api.acme.example/privkey.pem", str(private)),
    ):
        assert server.count(old) == 1, old
        server = server.replace(old, new)
    for setting in ("proxy_buffering off;", "proxy_read_timeout 600s;", "keepalive 32;"):
        assert setting in block
    prefix = workdir / "nginx"
    (prefix / "tmp").mkdir(parents=True)
    conf = prefix / "nginx.conf"
    temp = " ".join(
        f"{kind}_temp_path tmp/{kind};" for kind in ("proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf.write_text(
        # As root, workers would run as nobody, who cannot enter the test's private dirs.
        ("user root;\n" if os.geteuid() == 0 else "")
        + "worker_processes 1;\npid nginx.pid;\nerror_log stderr warn;\n"
        + "events { worker_connections 256; }\n"
        + f"http {{\naccess_log off;\nclient_body_temp_path tmp/body;\n{temp}\n{server}\n}}\n"
    )
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    log = workdir / "nginx.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [nginx, "-p", f"{prefix}/", "-c", str(conf), "-e", "stderr", "-g", "daemon off;"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"https://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        trust = ssl.create_default_context(cafile=str(cert))
        with httpx.Client(verify=trust, timeout=60) as client:
            while True:
                assert proc.poll() is None, log.read_text()
                try:
                    if client.get(f"{base}/health").status_code == 200:
                        break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, log.read_text()
                    time.sleep(0.1)
            body = {
                "model": "smollm2-135m-instruct",
                "messages": [{"role": "user", "content": "Count to five."}],
                "max_tokens": 16,
                "stream": True,
            }
            headers = {"Authorization": f"Bearer {key}"}
            with client.stream(
                "POST", f"{base}/v1/chat/completions", json=body, headers=headers
            ) as resp:
                assert resp.status_code == 200
                assert resp.headers["content-type"].startswith("text/event-stream")
                rid = resp.headers["inference-id"]
                events = [line for line in resp.iter_lines() if line.startswith("data: ")]
        assert events[-1] == "data: [DONE]" and len(events) >= 3, events
        assert json.loads(events[0][6:])["object"] == "chat.completion.chunk"
        assert gw.rows("SELECT status FROM usage_records WHERE request_id = ?", rid)[0][0] == 200
    finally:
        proc.send_signal(signal.SIGQUIT)
        proc.wait(10)


def test_the_guide_works_end_to_end(tmp_path: Path) -> None:
    blocks = examples()
    assert list(blocks) == [
        "config",
        "map-api",
        "map-cli",
        "hf-check",
        "hf-check-embedded",
        "inference-id",
        "go-live",
        "go-live-refused",
        "registry",
        "stand-in",
        "sync-dry-run",
        "sync",
        "provider-kit",
        "nginx",
    ]
    shown = outputs()
    (tmp_path / "upstream").mkdir()
    upstream = ToolUpstream(tmp_path / "upstream")
    config = yaml.safe_load(blocks["config"])
    config["database_url"] = f"sqlite:///{tmp_path / 'gatewayz.db'}"
    (example,) = [p for p in config["providers"] if p["name"] == "upstream"]
    example["base_url"] = upstream.base_url
    config_path = tmp_path / "gatewayz.yaml"
    config_path.write_text(yaml.safe_dump(config))
    secret = {"UPSTREAM_API_KEY": "sk-guide"}
    gw = Gateway(tmp_path, config, env=secret)
    hub_port = free_port()
    hub_url = f"http://127.0.0.1:{hub_port}"
    stand_in: subprocess.Popen[bytes] | None = None
    try:
        admin = gw.create_key("ops", "--admin")
        env = {
            **{k: v for k, v in os.environ.items() if k not in ("HF_TOKEN", "HF_ENDPOINT")},
            **secret,
            "PATH": f"{Path(PYTHON).parent}:{os.environ['PATH']}",
            "GATEWAYZ_CONFIG": str(config_path),
            "GATEWAYZ_URL": gw.url,
            "ADMIN_KEY": admin,
            "HF_TOKEN": TOKEN,
        }

        def shell(name: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
            script = blocks[name].replace(f":{GUIDE_PORTS['stand-in']}", f":{hub_port}")
            for guide_model, served in UPSTREAM_MODELS.items():
                script = script.replace(guide_model, served)
            out = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", script],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            if ok:
                assert out.returncode == 0, f"{name}:\n{out.stdout}\n{out.stderr}"
            return out

        def python(name: str) -> str:
            out = subprocess.run(
                [PYTHON, "-c", blocks[name]],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert out.returncode == 0, f"{name}:\n{out.stdout}\n{out.stderr}"
            return out.stdout

        # 3. Mapping, at staging: the upstream serves the route's model and its endpoint.
        mapped = json.loads(shell("map-api").stdout)
        assert mapped["provider_model_id"] == "llama-3.1-8b" and mapped["status"] == "staging"
        assert "notes" not in mapped, mapped["notes"]  # all asked, all answered
        listed = shell("map-cli")
        assert "created smollm2-360m -> HuggingFaceTB/SmolLM2-360M-Instruct" in listed.stdout
        assert "note:" not in listed.stderr, listed.stderr
        for model in ("llama-3.1-8b", "smollm2-360m", "smollm2-135m-instruct"):
            assert re.search(rf"^{re.escape(model)} .* staging ", listed.stdout, flags=re.M)

        # 4. Pre-flight: the upstream's model passes every probe; the embedded 135M model
        # fails the tool call, and the check says so.
        assert_report(shell("hf-check").stdout, shown["hf-check"])
        embedded = shell("hf-check-embedded", ok=False)
        assert embedded.returncode == 1, embedded.stdout + embedded.stderr
        assert_report(embedded.stdout, shown["hf-check-embedded"], timed=("first_token",))
        (tool_call,) = [line for line in embedded.stdout.splitlines() if " tool_call " in line]
        # It answers in text; or, on a machine too loaded for llama.cpp, not within 120 s.
        assert "no tool call with tool_choice auto; answered '" in tool_call or (
            "timed out" in tool_call
        ), tool_call
        ids = python("inference-id").splitlines()
        assert [line.split(":")[0] for line in ids] == [
            "Inference-Id",
            "streamed Inference-Id",
            "failed call's Inference-Id",
        ]
        values = [line.rsplit(" ", 1)[1] for line in ids]
        assert len(set(values)) == 3 and all(re.fullmatch(r"[0-9a-f-]{36}", v) for v in values)
        billed = gw.rows("SELECT request_id FROM usage_records WHERE request_id = ?", values[0])
        assert len(billed) == 1  # the id is the usage record's key

        # 5. Going live: the checked model goes; the unchecked one is refused.
        assert shell("go-live").stdout.strip() == "llama-3.1-8b is now live"
        refused = shell("go-live-refused", ok=False)
        assert refused.returncode == 1, refused.stdout + refused.stderr
        assert refused.stderr.splitlines() == shown["go-live-refused"], refused.stderr
        (row,) = gw.rows("SELECT status FROM registry_models WHERE id = 'smollm2-360m'")
        assert row["status"] == "staging"
        # Re-running the mapping block keeps the live model live (and its check current:
        # the sync below pushes it live).
        assert json.loads(shell("map-api").stdout)["status"] == "live"

        # 6. Sync, rehearsed against the guide's own stand-in command.
        registry = shell("registry").stdout
        assert '"meta-llama/Llama-3.1-8B-Instruct":{"providerId":"llama-3.1-8b"' in registry
        stand_in_args = blocks["stand-in"].strip().split()[1:]
        stand_in_args[stand_in_args.index("--port") + 1] = str(hub_port)
        log = tmp_path / "stand-in.log"
        with log.open("wb") as out:
            stand_in = subprocess.Popen(
                [PYTHON, "-m", "gatewayz", *stand_in_args],
                cwd=tmp_path,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        wait_http(f"{hub_url}/api/partners/{PROVIDER}/models", stand_in, log)
        plan = shell("sync-dry-run").stdout
        assert f"registry: sqlite:///{tmp_path / 'gatewayz.db'} (3 entries)" in plan
        assert "3 of 3 entries to push" in plan
        assert "3 to create" in plan and "dry run: nothing was changed" in plan
        assert "not pushed as live" not in plan and "held back" not in plan, plan
        assert httpx.get(f"{hub_url}/api/partners/{PROVIDER}/models").json() == {}
        synced = shell("sync").stdout
        assert "applied 3 of 3 changes; 0 failed" in synced and "nothing to do" in synced
        hub = httpx.get(f"{hub_url}/api/partners/{PROVIDER}/models").json()
        assert {k: (v["providerId"], v["status"]) for k, v in hub["conversational"].items()} == {
            "HuggingFaceTB/SmolLM2-135M-Instruct": ("smollm2-135m-instruct", "staging"),
            "HuggingFaceTB/SmolLM2-360M-Instruct": ("smollm2-360m", "staging"),
            "meta-llama/Llama-3.1-8B-Instruct": ("llama-3.1-8b", "live"),
        }
        saved = json.loads((tmp_path / "hub-rehearsal.json").read_text())
        assert len(saved["mappings"][PROVIDER]) == 3 and TOKEN not in json.dumps(saved)

        # 7. The provider kit.
        shell("provider-kit")
        assert (tmp_path / "acme-ai-kit" / "CHECKLIST.md").is_file()

        # 9. The nginx block, in front of this gateway over TLS.
        stream_through_nginx(blocks["nginx"], gw, admin, tmp_path)
    finally:
        if stand_in is not None:
            stand_in.send_signal(signal.SIGINT)
            stand_in.wait(10)
        gw.stop()
        upstream.stop()
