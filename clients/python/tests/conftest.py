"""Session fixtures: a live gateway (embedded models, llama-cpp-python's server for the
tasks a chat model answers, the repository's test image server), its keys, the stand-in,
and ``client``: each test that takes it runs once with ``GatewayzClient`` and once with
``AsyncGatewayzClient``."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal

from gatewayz_py_hf import AsyncGatewayzClient, GatewayzClient
from live import Gateway, Server, image_server, llama_server, standin_server

PRICING = {"input_per_million_usd": "0.50", "output_per_million_usd": "1.50"}
TASK_PRICING = {"per_request_usd": "0.0001", "per_1k_chars_usd": "0.00002"}
CHAT = "smollm2-135m-instruct"


def model(model_id: str, task: str, provider: str, upstream: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": model_id,
        "hub_model_id": f"gatewayz-test/{model_id}",
        "task": task,
        "routes": [{"provider": provider, "model": upstream}],
        "pricing": TASK_PRICING,
        **extra,
    }


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    work = tmp_path_factory.mktemp("client-gateway")
    llama, images = llama_server(work), image_server(work)
    models = [
        # The quick start's model name, served by SmolLM2 through llama-cpp-python's
        # server (whose default of 16 new tokens keeps the quick start's call short).
        model(
            "gpt-3.5-turbo",
            "text-generation",
            "llama",
            "smollm2",
            pricing=PRICING,
            context_length=2048,
        ),
        model("smol-chat", "conversational", "local", CHAT, pricing=PRICING, context_length=2048),
        model("minilm", "feature-extraction", "local", "default"),
        model("zero-shot", "zero-shot-classification", "local", "default"),
        model("summarizer", "summarization", "local", "default"),
        model("ner", "token-classification", "local", "default"),
        model("sentiment", "text-classification", "local", "default"),
        model("apertium", "translation", "local", "default"),
        model("qa", "question-answering", "llama", "smollm2"),
        model("fill", "fill-mask", "llama", "smollm2"),
        model("painter", "text-to-image", "images", "test-diffusion"),
        model("no-painter", "text-to-image", "local", "default"),
    ]
    config = {
        "database_url": f"sqlite:///{work / 'gw.db'}",
        "auth_cache_ttl_s": 0,
        "providers": [
            {"name": "local", "kind": "local"},
            {"name": "llama", "kind": "openai", "base_url": f"{llama.url}/v1"},
            {"name": "images", "kind": "openai", "base_url": f"{images.url}/v1"},
        ],
        "models": models,
    }
    server = Gateway(work, config)
    for s in (llama, images, server):
        s.wait()
    yield server
    for s in (server, llama, images):
        s.stop()


@pytest.fixture(scope="session")
def keys(gateway: Gateway) -> dict[str, str]:
    """Keys by role: ``admin``, ``user``, ``partner``, and ``broke`` (one nano-USD)."""
    return gateway.create_keys(
        {
            "admin": ["--admin"],
            "user": [],
            "partner": ["--partner"],
            "broke": ["--balance-usd", "0.000000001"],
        }
    )


@pytest.fixture(scope="session")
def standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = standin_server(tmp_path_factory.mktemp("standin")).wait()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def portal() -> Iterator[BlockingPortal]:
    """One event loop in a thread, for the async client's calls."""
    with start_blocking_portal(backend="asyncio") as p:
        yield p


class Client:
    """One interface over both clients: ``client.summarization(...)`` calls the sync
    client directly, or the async client's coroutine on the portal's event loop;
    ``collect`` reads a whole stream; ``raw`` is the underlying client."""

    def __init__(self, raw: GatewayzClient | AsyncGatewayzClient, portal: BlockingPortal):
        self.raw = raw
        self.is_async = isinstance(raw, AsyncGatewayzClient)
        self._portal = portal

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self.raw, name)
        if not self.is_async:
            return method  # type: ignore[no-any-return]

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._portal.call(functools.partial(method, *args, **kwargs))

        return call

    def collect(self, name: str, *args: Any, **kwargs: Any) -> tuple[str, list[Any]]:
        """(the stream's inference id, every chunk) of a streaming method."""
        method = getattr(self.raw, name)
        if not self.is_async:
            stream = method(*args, **kwargs)
            return stream.inference_id, list(stream)

        async def read() -> tuple[str, list[Any]]:
            stream = await method(*args, **kwargs)
            return stream.inference_id, [chunk async for chunk in stream]

        result: tuple[str, list[Any]] = self._portal.call(read)
        return result

    def collect_iter(self, name: str, *args: Any, **kwargs: Any) -> list[Any]:
        """Everything an iterator method (``iter_usage``) yields."""
        method = getattr(self.raw, name)
        if not self.is_async:
            return list(method(*args, **kwargs))

        async def read() -> list[Any]:
            return [item async for item in method(*args, **kwargs)]

        return self._portal.call(read)

    def close(self) -> None:
        if isinstance(self.raw, AsyncGatewayzClient):
            self._portal.call(self.raw.aclose)
        else:
            self.raw.close()


Factory = Callable[..., Client]


@pytest.fixture(params=["sync", "async"])
def make_client(request: pytest.FixtureRequest, portal: BlockingPortal) -> Iterator[Factory]:
    """Builds clients of the test's flavour (closed after the test)."""
    made: list[Client] = []
    cls = GatewayzClient if request.param == "sync" else AsyncGatewayzClient

    def make(*args: Any, **kwargs: Any) -> Client:
        if cls is AsyncGatewayzClient:
            # Built on the portal's loop, where its connection pool will live.
            async def build() -> AsyncGatewayzClient:
                return AsyncGatewayzClient(*args, **kwargs)

            client = Client(portal.call(build), portal)
        else:
            client = Client(GatewayzClient(*args, **kwargs), portal)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(make_client: Factory, gateway: Gateway, keys: dict[str, str]) -> Client:
    """A client of the live gateway with a standard key."""
    return make_client(keys["user"], base_url=gateway.url, max_retries=0)


@pytest.fixture
def admin(make_client: Factory, gateway: Gateway, keys: dict[str, str]) -> Client:
    return make_client(keys["admin"], base_url=gateway.url, max_retries=0)
