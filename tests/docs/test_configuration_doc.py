"""Every YAML example in docs/CONFIGURATION.md is a configuration the gateway accepts, and
the error example is the message it gives."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from gatewayz.config import ConfigError, embedded_default, parse_settings
from tests.servers import PYTHON, ROOT

DOC = (ROOT / "docs" / "CONFIGURATION.md").read_text()


def test_example_configuration_is_valid() -> None:
    (example,) = re.findall(r"```yaml\n(.*?)```", DOC, re.S)
    settings = parse_settings(yaml.safe_load(example), {"VLLM_A_KEY": "secret"})
    assert [p.name for p in settings.providers] == ["vllm-a", "tei", "local"]
    assert settings.provider("vllm-a").api_key == "secret"
    assert str(settings.models[0].pricing.input_per_million_usd) == "0.10"
    assert settings.default_models["text-generation"] == "llama-3.1-8b"
    assert settings.metrics.address is None and not settings.metrics.require_admin_key
    assert settings.routing.cooldown_s == 30
    cost = settings.models[0].routes[0].cost
    assert cost is not None and str(cost.input_per_million_usd) == "0.04"


def test_documented_error_message() -> None:
    shown = re.search(r"  (models\[0\]\.pricing\.input_per_million_usd: .*)\n", DOC)
    assert shown
    raw = {
        "providers": [{"name": "a", "kind": "local"}],
        "models": [
            {
                "id": "m",
                "hub_model_id": "o/m",
                "task": "conversational",
                "routes": [{"provider": "a", "model": "x"}],
                "pricing": {"input_per_million_usd": 0.1},
            }
        ],
    }
    with pytest.raises(ConfigError) as err:
        parse_settings(raw, {})
    assert shown.group(1) in str(err.value)


def test_missing_secret_stops_start_up() -> None:
    (example,) = re.findall(r"```yaml\n(.*?)```", DOC, re.S)
    with pytest.raises(ConfigError, match="VLLM_A_KEY is not set"):
        parse_settings(yaml.safe_load(example), {})


def block(kind: str) -> object:
    (text,) = re.findall(rf"```yaml {kind}\n(.*?)```", DOC, re.S)
    return yaml.safe_load(text)


def test_the_embedded_default_as_a_file_is_the_embedded_default() -> None:
    # The same settings; only the log's word for where they came from differs (``origin``).
    from_file, default = parse_settings(block("embedded-default"), {}), embedded_default()
    assert from_file.model_dump() == default.model_dump()
    assert (from_file.origin, default.origin) == ("the configuration file", "the embedded default")


def test_the_local_example_applies_to_the_embedded_default() -> None:
    raw = block("embedded-default")
    assert isinstance(raw, dict)
    local = block("local")
    assert isinstance(local, dict)
    with pytest.raises(ConfigError, match=r"default_models\.[a-z-]+: .* is off"):
        parse_settings({**raw, **local}, {})
    kept = {"smollm2-135m-instruct", "vader-sentiment"}
    defaults = {task: m for task, m in raw["default_models"].items() if m in kept}
    settings = parse_settings({**raw, **local, "default_models": defaults}, {})
    served = {m.id: settings.load_policy(m) for m in settings.models}
    assert served == {"smollm2-135m-instruct": "eager", "vader-sentiment": "lazy"}


def test_key_limits_commands(tmp_path: Path) -> None:
    """The rate-limit commands, as written, on a fresh embedded-default database."""
    (block,) = re.findall(r"```bash\n(gatewayz keys create .*?)```", DOC, re.S)
    env = {k: v for k, v in os.environ.items() if k != "GATEWAYZ_CONFIG"}
    outputs = []
    for line in block.splitlines():
        argv = shlex.split(line, comments=True)
        assert argv[0] == "gatewayz"
        done = subprocess.run(
            [PYTHON, "-m", "gatewayz", *argv[1:]],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
    assert outputs[-1].startswith("limits of name:team-a: rpm 120, tpm default, max-concurrency 4 ")
