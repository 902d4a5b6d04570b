from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.routing.behaving_upstream import BehavingUpstream, Blackhole
from tests.servers import Gateway

COOLDOWN_S = 2.0
DEAD_TIMEOUT_S = 1.0
UPSTREAMS = ("fast", "slow", "flaky", "scripted")


@pytest.fixture(scope="module")
def ups() -> Iterator[dict[str, BehavingUpstream]]:
    servers = {name: BehavingUpstream(name) for name in UPSTREAMS}
    yield servers
    for server in servers.values():
        server.stop()


@pytest.fixture(scope="module")
def dead() -> Iterator[Blackhole]:
    host = Blackhole()
    yield host
    host.stop()


@pytest.fixture(autouse=True)
def _fresh(ups: dict[str, BehavingUpstream]) -> None:
    for server in ups.values():
        server.reset()


def _chat_model(model_id: str, *routes: dict[str, object], **extra: object) -> dict[str, object]:
    return {
        "id": model_id,
        "hub_model_id": f"org/{model_id.replace(':', '-')}",
        "task": "conversational",
        "routes": list(routes),
        "pricing": {"input_per_million_usd": "0.50", "output_per_million_usd": "1.50"},
        **extra,
    }


def routing_config(
    ups: dict[str, BehavingUpstream], dead: Blackhole, db: Path
) -> dict[str, object]:
    def provider(name: str, kind: str = "openai", **extra: object) -> dict[str, object]:
        # Two private providers, served by the fast and slow upstreams.
        served_by = {"private-vllm-3": "fast", "private-vllm-4": "slow"}
        server = served_by.get(name, name.removesuffix("-hf"))
        url = dead.url if name == "dead" else ups[server].url
        base = f"{url}/hf" if kind == "hf" else f"{url}/v1"
        return {
            "name": name,
            "kind": kind,
            "base_url": base,
            "timeout_s": 10,
            "public": True,
            **extra,
        }

    return {
        "database_url": f"sqlite:///{db}",
        "auth_cache_ttl_s": 0,
        "routing": {
            "window": 6,
            "min_samples": 2,
            "failures_to_open": 3,
            "error_ratio_to_open": 0.5,
            "min_calls_for_ratio": 4,
            "cooldown_s": COOLDOWN_S,
        },
        "providers": [
            provider("fast", max_retries=0),
            provider("slow", max_retries=0),
            provider("flaky", max_retries=0),
            provider("dead", connect_timeout_s=DEAD_TIMEOUT_S, max_retries=0),
            provider("private-vllm-3", public=False),
            provider("private-vllm-4", public=False),
            provider("scripted"),
            provider("scripted-hf", "hf"),
            provider("fast-hf", "hf"),
            provider("slow-hf", "hf"),
        ],
        "models": [
            _chat_model(
                "race", {"provider": "fast", "model": "m"}, {"provider": "slow", "model": "m"}
            ),
            _chat_model(
                "deals",
                {"provider": "fast", "model": "m", "cost": {"input_per_million_usd": "1.00"}},
                {
                    "provider": "slow",
                    "model": "m",
                    "priority": 1,
                    "cost": {"input_per_million_usd": "0.10", "output_per_million_usd": "0.20"},
                },
                {"provider": "flaky", "model": "m", "priority": 2},
            ),
            _chat_model(
                "thrifty",
                {"provider": "fast", "model": "m", "cost": {"output_per_million_usd": "2"}},
                {
                    "provider": "slow",
                    "model": "m",
                    "priority": 1,
                    "cost": {"output_per_million_usd": "1"},
                },
                policy="cheapest",
            ),
            _chat_model(
                "pin",
                {"provider": "fast", "model": "m"},
                {"provider": "dead", "model": "m", "priority": 1},
            ),
            _chat_model(
                "dead-first",
                {"provider": "dead", "model": "m"},
                {"provider": "fast", "model": "m", "priority": 1},
            ),
            _chat_model("halfbad", {"provider": "flaky", "model": "m"}),
            _chat_model("retry-chat", {"provider": "scripted", "model": "m"}),
            _chat_model("qwen2.5:0.5b", {"provider": "fast", "model": "m"}),
            _chat_model(
                "private",
                {"provider": "private-vllm-4", "model": "internal/finetune-v2"},
                {"provider": "fast", "model": "m", "priority": 1},
                {"provider": "private-vllm-3", "model": "internal/finetune-v2", "priority": 2},
            ),
            {
                "id": "embed-retry",
                "hub_model_id": "org/embed-retry",
                "task": "feature-extraction",
                "routes": [{"provider": "scripted", "model": "m"}],
            },
            {
                "id": "hf-retry",
                "hub_model_id": "org/hf-retry",
                "task": "text-classification",
                "routes": [{"provider": "scripted-hf", "model": "m"}],
            },
            {
                "id": "hf-pick",
                "hub_model_id": "org/hf-pick",
                "task": "text-classification",
                "routes": [
                    {"provider": "fast-hf", "model": "m"},
                    {"provider": "slow-hf", "model": "m", "priority": 1},
                ],
            },
        ],
    }


@pytest.fixture(scope="module")
def routing_gateway(
    tmp_path_factory: pytest.TempPathFactory, ups: dict[str, BehavingUpstream], dead: Blackhole
) -> Iterator[Gateway]:
    workdir = tmp_path_factory.mktemp("routing")
    server = Gateway(workdir, routing_config(ups, dead, workdir / "gw.db"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def key(routing_gateway: Gateway) -> str:
    return routing_gateway.create_key("routing")


@pytest.fixture(scope="module")
def admin(routing_gateway: Gateway) -> str:
    return routing_gateway.create_key("routing-admin", "--admin")
