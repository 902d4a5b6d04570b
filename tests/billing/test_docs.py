"""Every example in docs/HUGGINGFACE_PROVIDER.md, replayed against a real gateway."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import orjson
import yaml

from gatewayz.config import Pricing, parse_settings
from gatewayz.money import Usage, cost_nano_usd, nano_to_usd_string
from tests.billing.conftest import Env
from tests.servers import PYTHON, ROOT

DOC = ROOT / "docs" / "HUGGINGFACE_PROVIDER.md"
BLOCK = re.compile(r"<!-- billing-example: ([\w-]+) -->\n```(\w+)\n(.*?)```", re.S)


def examples() -> dict[str, str]:
    return {name: body for name, _, body in BLOCK.findall(DOC.read_text())}


def example_json(name: str) -> Any:
    return orjson.loads(examples()[name])


def commands(name: str) -> list[list[str]]:
    return [shlex.split(line) for line in examples()[name].splitlines() if line.strip()]


def test_the_arithmetic_in_the_text() -> None:
    text = DOC.read_text()
    assert "500,000,000 nano-USD is **$0.50**" in text
    assert nano_to_usd_string(500_000_000) == "0.500000000"
    assert "= **125,000 nano-USD** ($0.000125)" in text
    pricing = Pricing(input_per_million_usd="0.50", output_per_million_usd="1.50")
    assert cost_nano_usd(pricing, Usage(100, 50)) == 50_000 + 75_000 == 125_000


def test_configuration_example_prices_as_the_text_says() -> None:
    settings = parse_settings(yaml.safe_load(examples()["config"]), {})
    (model,) = settings.models
    assert model.id == "example-chat" and model.routes[0].provider == "upstream"
    assert cost_nano_usd(model.pricing, Usage(100, 50)) == 125_000


def test_cost_calculator_example(env: Env) -> None:
    r = env.post("/hf/tasks/billing/cost", env.user, example_json("cost-request"))
    assert r.status_code == 200
    assert r.json() == example_json("cost-response")


def test_billing_lookup_example(env: Env) -> None:
    r = env.chat(env.partner, words=100, max_tokens=50)
    rid = r.headers["inference-id"]
    request = example_json("lookup-request")
    documented = request["requestIds"][0]
    request["requestIds"][0] = rid
    answer = env.post("/v1/billing/requests", env.partner, request)
    expected = orjson.loads(examples()["lookup-response"].replace(documented, rid))
    assert answer.json() == expected


def test_usage_totals_example(env: Env) -> None:
    key = env.gw.create_key("doc-usage")
    assert env.chat(key, words=100, max_tokens=50).status_code == 200
    r = env.get("/hf/tasks/billing/usage", key)
    assert r.json()["totals"] == example_json("usage-totals")


def _gatewayz(env: Env, argv: list[str], cwd: Path) -> str:
    assert argv[0] == "gatewayz"
    full = [PYTHON, "-m", "gatewayz", *env.gw.config_args, *argv[1:]]
    return subprocess.run(full, capture_output=True, text=True, check=True, cwd=cwd).stdout


def test_export_cli_examples(env: Env, tmp_path: Path) -> None:
    assert env.chat(env.user).status_code == 200
    csv_cmd, jsonl_cmd = commands("cli")
    _gatewayz(env, csv_cmd, tmp_path)  # a January 2026 range: the header at least
    assert (tmp_path / "january.csv").read_text().startswith("request_id,api_key_id,")
    lines = _gatewayz(env, jsonl_cmd, tmp_path).splitlines()
    assert lines and all(orjson.loads(line)["model"] == "example-chat" for line in lines)


def test_credits_examples(env: Env, tmp_path: Path) -> None:
    create, credit = commands("credits-cli")
    key = _gatewayz(env, create, tmp_path).strip().splitlines()[-1]
    balance = env.get("/v1/billing/balance", key).json()
    listed = env.gw.cli("keys", "list").stdout
    key_id = balance["api_key_id"]
    row = re.search(rf"^ *{key_id} +(\S+) +alice ", listed, re.M)  # id, prefix, name
    assert row and key.startswith(f"gz_{row.group(1)}_")
    assert balance == {**example_json("balance-response"), "api_key_id": key_id}
    _gatewayz(env, credit, tmp_path)  # as written: by the name the first command gave
    assert env.get("/v1/billing/balance", key).json()["balance_nano_usd"] == 3_500_000_000
