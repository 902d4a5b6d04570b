"""Configuration: a bad file stops ``gatewayz serve`` naming the bad key; secrets come from
the environment variables the file names; ``GATEWAYZ_CONFIG`` works like ``--config``."""

from __future__ import annotations

import copy
import os
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from gatewayz.config import ConfigError, load_settings
from gatewayz.upstreams.registry import UPSTREAM_KINDS
from tests.checks import bearer, chat_body, openai_error
from tests.conftest import UPSTREAM_SECRET, upstream_config
from tests.servers import PYTHON, Gateway, LlamaUpstream, free_port
from tests.upstreams import TroubleUpstream

BASE = upstream_config("http://127.0.0.1:9/v1", Path("unused.db"))


def serve_with(tmp_path: Path, config: Any, env: dict[str, str] | None = None) -> str:
    """Run ``gatewayz serve`` on a config that must be refused; return its stderr."""
    path = tmp_path / "bad.yaml"
    path.write_text(config if isinstance(config, str) else yaml.safe_dump(config))
    proc = subprocess.run(
        [PYTHON, "-m", "gatewayz", "serve", "--config", str(path), "--port", str(free_port())],
        cwd=tmp_path,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert proc.returncode != 0, proc.stdout
    assert "Traceback" not in proc.stderr, proc.stderr
    assert not (tmp_path / "unused.db").exists()  # refused before touching the database
    return proc.stderr


def changed(path: str, value: object) -> dict[str, Any]:
    """BASE with the value at a dotted path (list indexes as numbers) replaced or set."""
    config = copy.deepcopy(BASE)
    *parents, last = path.split(".")
    node: Any = config
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    node[int(last) if last.isdigit() else last] = value
    return config


def test_float_price_stops_serve_naming_the_key(tmp_path: Path) -> None:
    err = serve_with(tmp_path, changed("models.0.pricing.input_per_million_usd", 0.5))
    assert "models[0].pricing.input_per_million_usd" in err and "float" in err


def test_unknown_key_stops_serve_naming_it(tmp_path: Path) -> None:
    assert "providers[0].bas_url" in serve_with(tmp_path, changed("providers.0.bas_url", "x"))


@pytest.mark.parametrize(
    ("path", "value", "named"),
    [
        ("models.1.pricing.output_per_million_usd", "cheap", "models[1].pricing.output_per_mill"),
        ("models.0.pricing.input_per_million_usd", "-1", "models[0].pricing.input_per_million"),
        ("databse_url", "sqlite:///x.db", "databse_url"),
        ("providers.0.kind", "grpc", "providers[0].kind"),
        ("providers.0.timeout_s", -1, "providers[0].timeout_s"),
        ("models.0.status", "beta", "models[0].status"),
        ("models.0.task", "dancing", "models[0].task"),
        ("models.0.routes", [], "models[0].routes"),
        ("models.0.context_length", "long", "models[0].context_length"),
        ("max_body_bytes", "big", "max_body_bytes"),
        ("metrics", {"listen": "9464"}, "metrics.listen"),
        ("metrics", {"listen": "localhost:99999"}, "metrics.listen"),
        ("metrics", {"require_admin": True}, "metrics.require_admin"),
    ],
)
def test_bad_value_is_refused_naming_the_key(
    tmp_path: Path, path: str, value: object, named: str
) -> None:
    """The same loader ``serve`` uses (two cases above go through ``serve`` itself)."""
    file = tmp_path / "bad.yaml"
    file.write_text(yaml.safe_dump(changed(path, value)))
    with pytest.raises(ConfigError) as err:
        load_settings(file, {})
    assert named in str(err.value)


def test_unknown_provider_kind_names_the_kinds_there_are(tmp_path: Path) -> None:
    """The adapter registry is the list of kinds: its own error is what the operator sees."""
    err = serve_with(tmp_path, changed("providers.0.kind", "grpc"))
    assert "providers[0].kind" in err and "'grpc' has no adapter" in err
    assert f"available: {', '.join(sorted(UPSTREAM_KINDS))})" in err


def test_route_to_unknown_provider_names_it(tmp_path: Path) -> None:
    config = changed("models.0.routes", [{"provider": "nowhere", "model": "m"}])
    err = serve_with(tmp_path, config)
    assert "models[0].routes[0].provider" in err
    assert "nowhere" in err and "smol-upstream" in err


def test_duplicate_model_id_is_refused(tmp_path: Path) -> None:
    config = changed("models.1.id", "smol-upstream")
    assert "smol-upstream" in serve_with(tmp_path, config)


def test_missing_secret_variable_names_the_key_and_variable(tmp_path: Path) -> None:
    config = changed("providers.0.api_key_env", "GATEWAYZ_TEST_UNSET_KEY")
    env = {k: v for k, v in os.environ.items() if k != "GATEWAYZ_TEST_UNSET_KEY"}
    err = serve_with(tmp_path, config, env)
    assert "providers[0].api_key_env" in err and "GATEWAYZ_TEST_UNSET_KEY" in err


def test_a_secret_written_in_the_file_is_refused(tmp_path: Path) -> None:
    err = serve_with(tmp_path, changed("providers.0.api_key", "sk-in-the-file"))
    assert "providers[0].api_key" in err
    assert "sk-in-the-file" not in err


def test_invalid_yaml_stops_serve(tmp_path: Path) -> None:
    assert "not valid YAML" in serve_with(tmp_path, "providers: [\n  - name: a\n kind")


def test_non_mapping_and_missing_file_are_clear(tmp_path: Path) -> None:
    listing = tmp_path / "list.yaml"
    listing.write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_settings(listing, {})
    with pytest.raises(ConfigError, match=r"nope\.yaml"):
        load_settings(None, {"GATEWAYZ_CONFIG": str(tmp_path / "nope.yaml")})


def test_upstream_key_comes_from_the_named_variable(
    trouble_gateway: Gateway, trouble_key: str
) -> None:
    """The ``authed`` upstream answers only to ``Bearer <UPSTREAM_SECRET>``; the gateway
    reads that from TROUBLE_UPSTREAM_KEY, which the file names but does not contain."""
    assert UPSTREAM_SECRET not in (trouble_gateway.workdir / "gatewayz.yaml").read_text()
    with httpx.Client(base_url=trouble_gateway.url, headers=bearer(trouble_key)) as http:
        ok = http.post("/v1/chat/completions", json=chat_body("smol-authed"), timeout=60)
        assert ok.status_code == 200, ok.text
        assert ok.json()["choices"][0]["message"]["content"]
        # A wrong upstream key is the operator's problem, not the caller's: 502.
        wrong = http.post("/v1/chat/completions", json=chat_body("smol-authed-wrong"))
        error = openai_error(wrong, 502)
        assert "401" in error["message"]
        assert "not-the-secret" not in wrong.text


def test_callers_key_is_not_forwarded_upstream(
    trouble_gateway: Gateway, trouble_key: str, trouble_upstream: TroubleUpstream
) -> None:
    resp = httpx.post(
        f"{trouble_gateway.url}/v1/chat/completions",
        json=chat_body("smol-recorded"),
        headers=bearer(trouble_key),
        timeout=60,
    )
    assert resp.status_code == 200, resp.text
    headers = {k.lower(): v for k, v in trouble_upstream.last["headers"].items()}
    assert trouble_key not in str(headers)
    assert "authorization" not in headers


def test_gatewayz_config_variable_works_like_the_flag(
    tmp_path: Path, llama_upstream: LlamaUpstream
) -> None:
    config = upstream_config(llama_upstream.base_url, tmp_path / "env.db")
    path = tmp_path / "from-env.yaml"
    path.write_text(yaml.safe_dump(config))
    gateway = Gateway(tmp_path, None, env={"GATEWAYZ_CONFIG": str(path)})
    try:
        key = gateway.create_key("env")  # the CLI reads the same variable
        models = httpx.get(f"{gateway.url}/v1/models", headers=bearer(key)).json()
        assert [m["id"] for m in models["data"]] == ["smol-upstream"]
        assert (tmp_path / "env.db").exists()
        assert not (tmp_path / "gatewayz.db").exists()  # not the embedded default
    finally:
        gateway.stop()
