"""The gateway's configuration: one YAML file, validated once into ``Settings``.

Secrets never live in the file: a provider names the environment variable that holds its
key (``api_key_env``) and the value is read here, once, at start-up.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from gatewayz.tasks import Task, served_tasks

DEFAULT_DATABASE_URL = "sqlite:///./gatewayz.db"
DEFAULT_SPOOL = "./gatewayz-spool"
LOCAL_PROVIDER = "local"
LOCAL_CHAT_MODEL = "smollm2-135m-instruct"


class ConfigError(Exception):
    """The configuration cannot be used; the message names the offending key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# Prices are bounded so that every cost stays an exact, encodable integer of nano-USD: at
# most USD 1,000,000 per unit, with at most 12 decimal places (a millionth of a nano-USD
# per token when quoted per million tokens).
MAX_PRICE_USD = Decimal(1_000_000)
MAX_PRICE_DECIMALS = 12


def _price(value: object) -> Decimal:
    if isinstance(value, float):
        raise ValueError('write prices as quoted decimal strings (e.g. "0.10"), not floats')
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise ValueError("a price must be a decimal string")
    try:
        price = Decimal(str(value))
    except ArithmeticError:  # InvalidOperation, or Overflow for exponents like 1e99999999999
        raise ValueError(f"{str(value)[:40]!r} is not a decimal number") from None
    if not price.is_finite() or price < 0 or price > MAX_PRICE_USD:
        raise ValueError(f"a price must be a finite decimal from 0 to {MAX_PRICE_USD} (USD)")
    places = Decimal(1).scaleb(-MAX_PRICE_DECIMALS)
    if price % places:
        raise ValueError(f"a price may have at most {MAX_PRICE_DECIMALS} decimal places")
    if len(str(price)) > 20:  # stored in 40 characters; exact: "0.500000000000000000000"
        price = price.quantize(places)
    return abs(price)  # "-0" is 0


class Pricing(_Strict):
    """USD prices as exact decimals; any combination may be set."""

    input_per_million_usd: Decimal = Decimal(0)
    output_per_million_usd: Decimal = Decimal(0)
    per_image_usd: Decimal = Decimal(0)
    per_request_usd: Decimal = Decimal(0)
    per_1k_chars_usd: Decimal = Decimal(0)

    @field_validator("*", mode="before")
    @classmethod
    def _decimal(cls, value: object) -> Decimal:
        return _price(value)


class ProviderConfig(_Strict):
    name: str = Field(min_length=1)
    # A key of ``upstreams.registry.UPSTREAM_KINDS``, checked when the adapters are built.
    kind: str
    base_url: str | None = None
    api_key_env: str | None = None
    timeout_s: float = Field(default=60.0, gt=0)
    connect_timeout_s: float = Field(default=5.0, gt=0)
    max_connections: int = Field(default=256, ge=1)
    # Calls answered 408/429/5xx (or cut off) are asked again this many times.
    max_retries: int = Field(default=2, ge=0, le=10)
    # The server speaks OpenAI's Responses API itself (``/responses``): /v1/responses is
    # passed through to it rather than translated to a chat completion (openai kind only).
    responses_api: bool = False
    # Whether callers may see this provider's name (GET /v1/models ``providers``, the
    # x-gatewayz-route header) and pin it (``model:<name>``); otherwise it is shown, per
    # model, as ``provider-1``, ``provider-2``... in the order of the model's routes.
    public: bool = False
    # Resolved from ``api_key_env`` at load time; never read from the file.
    api_key: str | None = Field(default=None, exclude=True, repr=False)

    @field_validator("api_key", mode="before")
    @classmethod
    def _no_secret_in_file(cls, value: object) -> None:
        if value is not None:
            raise ValueError(
                "secrets are not read from the file; put the key in an environment "
                "variable and name it in api_key_env"
            )
        return None

    @model_validator(mode="after")
    def _needs_url(self) -> ProviderConfig:
        if self.kind != "local" and not self.base_url:
            raise ValueError(f"provider {self.name!r} of kind {self.kind!r} needs a base_url")
        if self.responses_api and self.kind != "openai":
            raise ValueError(f"provider {self.name!r}: responses_api is for kind 'openai' only")
        return self


# Integers stored in 32-bit database columns.
MAX_INT32 = 2**31 - 1


class RouteConfig(_Strict):
    provider: str = Field(min_length=1, max_length=200)
    model: str = Field(min_length=1, max_length=200)
    priority: int = Field(default=0, ge=-MAX_INT32, le=MAX_INT32)
    weight: int = Field(default=1, ge=1, le=1_000_000)
    # What the upstream charges the operator (``:cheapest`` orders by it); the model's
    # ``pricing`` is what the caller pays.
    cost: Pricing | None = None


class ModelConfig(_Strict):
    id: str = Field(min_length=1)
    hub_model_id: str = Field(min_length=1)
    task: Task
    tasks: tuple[Task, ...] = ()
    status: Literal["live", "staging"] = "live"
    context_length: int = Field(default=4096, ge=1, le=MAX_INT32)
    routes: tuple[RouteConfig, ...] = Field(min_length=1)
    pricing: Pricing = Pricing()
    # Counts tokens when an upstream reports no usage: a tokenizer.json path, or a GGUF
    # model (packaged name or path). Without it, such counts are estimated.
    tokenizer: str | None = None
    adapter_type: Literal["lora"] | None = None
    base_model: str | None = None
    # The routing policy of a request that names none (see gatewayz.routing.policy).
    policy: Literal["fastest", "cheapest"] | None = None
    # Served by the gateway but never pushed to the Hub by ``hf sync``: its Hub id is not a
    # Hub model whose pipeline tag fits the task (e.g. VADER, or MiniLM doing zero-shot).
    local_only: bool = False

    @property
    def serves(self) -> frozenset[str]:
        return served_tasks(self.task, self.tasks)


class RateLimits(_Strict):
    """Requests and tokens (input + output) per window, and requests in flight; an absent
    value is no limit."""

    rpm: int | None = Field(default=None, ge=1)
    tpm: int | None = Field(default=None, ge=1)
    max_concurrency: int | None = Field(default=None, ge=1)

    @property
    def any(self) -> bool:
        return self.rpm is not None or self.tpm is not None or self.max_concurrency is not None


class LimitSettings(_Strict):
    """Rate limits: ``default`` for every API key (a key's own values, set with the CLI,
    take precedence), and per model id across all its routes (protecting an upstream)."""

    default: RateLimits = RateLimits()
    models: dict[str, RateLimits] = {}
    # The window of every limit: rpm/tpm count what was admitted in the last window_s
    # seconds. Keep 60 (per minute) in production; tests may shorten it.
    window_s: float = Field(default=60.0, ge=0.1, le=3600)
    # When Redis does not answer within redis_timeout_s: serve unlimited ("allow", with a
    # metric and a log line) or refuse with 503 ("deny").
    redis_unavailable: Literal["allow", "deny"] = "deny"
    redis_timeout_s: float = Field(default=1.0, gt=0, le=10)
    # Requests in flight are leased for this long and renewed while they run, so a killed
    # instance's slots come back by themselves.
    lease_s: float = Field(default=30.0, ge=1, le=3600)

    @property
    def configured(self) -> bool:
        return self.default.any or any(m.any for m in self.models.values())


class RoutingSettings(_Strict):
    """Per-route health and measurements (see gatewayz.routing and docs/CONFIGURATION.md)."""

    # Each route's measurements are the medians of its last ``window`` calls; a route
    # with fewer than ``min_samples`` counts as unmeasured (``:fastest`` tries it first).
    window: int = Field(default=50, ge=2, le=10_000)
    min_samples: int = Field(default=3, ge=1, le=10_000)
    # The breaker opens after this many failed calls in a row (5xx, 429, timeouts, ...)
    failures_to_open: int = Field(default=5, ge=1, le=10_000)
    # ... or when at least this share of the window's calls failed (and the window holds
    # ``min_calls_for_ratio`` calls); a connect timeout (a host down) opens it at once.
    error_ratio_to_open: float = Field(default=0.5, gt=0, le=1)
    min_calls_for_ratio: int = Field(default=10, ge=1, le=10_000)
    # An open breaker lets one probe through after this many seconds.
    cooldown_s: float = Field(default=30.0, gt=0, le=3600)


class ServerSettings(_Strict):
    """Connection limits of ``gatewayz serve``, enforced per process (see servers.py)."""

    # The request line and headers must arrive within this many seconds of the connection
    # opening (or of the first byte of a later request on a kept-alive connection).
    header_timeout_s: float = Field(default=10.0, gt=0, le=60)
    # The body must arrive within this many seconds of the headers: with the header timeout,
    # a half-sent request is closed within 30 s by default.
    body_timeout_s: float = Field(default=20.0, gt=0, le=3600)
    # An idle kept-alive connection is closed after this many seconds.
    keep_alive_s: float = Field(default=30.0, gt=0, le=3600)
    # Open client connections per process; more are refused at once (503). Lowered at
    # start-up to half the process's file limit if that is smaller.
    max_connections: int = Field(default=4096, ge=1, le=1_000_000)
    # Open connections per client address; off by default, since behind a load balancer
    # every connection comes from the balancer's address.
    max_connections_per_ip: int | None = Field(default=None, ge=1, le=1_000_000)


class MetricsConfig(_Strict):
    """Who may read ``GET /metrics`` (request counts, tokens and cost per model), and where.
    The default keeps it open on the main port, as Prometheus scrapers expect."""

    # Only ``Authorization: Bearer <admin key>`` may read it (on whichever listener).
    require_admin_key: bool = False
    # "host:port" (e.g. "127.0.0.1:9464", "[::1]:9464"): serve it there only; the main
    # port then answers 404 for /metrics.
    listen: str | None = None

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str | None) -> str | None:
        if value is not None:
            split_host_port(value)
        return value

    @property
    def address(self) -> tuple[str, int] | None:
        return None if self.listen is None else split_host_port(self.listen)


def split_host_port(value: str) -> tuple[str, int]:
    """``"host:port"`` or ``"[v6]:port"`` -> (host, port); ValueError otherwise."""
    host, sep, port = value.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"{value!r} is not host:port (e.g. 127.0.0.1:9464)")
    return host, int(port)


LoadPolicy = Literal["eager", "lazy", "off"]


def _yaml_off(value: object) -> object:
    """YAML 1.1 reads a bare ``off`` as false: take it as written."""
    return "off" if value is False else value


_Load = Annotated[LoadPolicy, BeforeValidator(_yaml_off)]


class LocalSettings(_Strict):
    """When the embedded models (those whose every route goes to a ``local`` provider) load:
    ``eager`` at start-up, before ``/ready`` answers 200; ``lazy`` on first use; ``off``: the
    model is not served at all (not listed, and a request for it is a 404)."""

    load: _Load = "lazy"  # every embedded model not named in ``models``
    models: dict[str, _Load] = {}  # per model id


# How a provider that is not ``public`` is shown to callers (see routing.policy).
_HIDDEN_NAME = re.compile(r"provider-[0-9]+")


class Settings(_Strict):
    # Where ``models`` came from, in words for the log: a file, or the embedded default.
    _origin: str = PrivateAttr(default="the configuration file")

    database_url: str = DEFAULT_DATABASE_URL
    providers: tuple[ProviderConfig, ...] = ()
    models: tuple[ModelConfig, ...] = ()
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    auth_cache_ttl_s: float = Field(default=2.0, ge=0)
    # The directory of the local usage spool (docs/SCALING.md), relative to the working
    # directory: a journal of JSON lines per process, drained into the database (on
    # SQLite by default beside the database file, so that a gateway started from anywhere
    # on that database drains what a killed one left). "off" commits every usage record
    # to the database before its response instead.
    usage_spool: Annotated[str, BeforeValidator(_yaml_off)] = Field(
        default=DEFAULT_SPOOL, min_length=1
    )
    # How often each instance checks the shared registry for changes made elsewhere.
    registry_refresh_s: float = Field(default=1.0, gt=0, le=60)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # One line per request (its Inference-Id, method, path, status, latency, model).
    access_log: bool = False
    # Where the embedded default keeps the first API key it creates (mode 0600).
    first_key_file: str | None = None
    server: ServerSettings = ServerSettings()

    # The model that answers a request naming none, per task; a task without one needs
    # the request to name its model.
    default_models: dict[Task, str] = Field(default_factory=dict)
    metrics: MetricsConfig = MetricsConfig()
    limits: LimitSettings = LimitSettings()
    routing: RoutingSettings = RoutingSettings()
    # Shared state of several workers or instances (rate limits), e.g. redis://host:6379/0.
    # A URL with a password belongs in an environment variable named by redis_url_env.
    redis_url: str | None = None
    redis_url_env: str | None = None
    # Starts every key this deployment writes in Redis, so that deployments sharing one
    # Redis never share counters. Default: "gatewayz:" and the deployment's id, made at
    # random on the database's first start (the same for every instance on it).
    redis_prefix: str | None = Field(default=None, min_length=1, max_length=100)
    # redis_url names one node of a Redis Cluster: the gateway asks it which node serves
    # its keys (all in one hash slot) and follows the slot when it moves.
    redis_cluster: bool = False

    @field_validator("redis_prefix")
    @classmethod
    def _prefix(cls, value: str | None) -> str | None:
        if value is not None and not all(c.isprintable() and c not in "{} " for c in value):
            raise ValueError("may not contain braces, spaces or control characters")
        return value

    local: LocalSettings = LocalSettings()

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        names = [p.name for p in self.providers]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise ValueError(f"provider names must be unique; repeated: {sorted(dupes)}")
        ids = [m.id for m in self.models]
        dupes = {i for i in ids if ids.count(i) > 1}
        if dupes:
            raise ValueError(f"model ids must be unique; repeated: {sorted(dupes)}")
        for p in self.providers:
            if p.public and (p.name in ("fastest", "cheapest") or _HIDDEN_NAME.fullmatch(p.name)):
                raise ValueError(
                    f"provider {p.name!r} cannot be public under that name: it reads as a "
                    "routing policy or as the label of a private provider"
                )
        known = set(names)
        for i, model in enumerate(self.models):
            for j, route in enumerate(model.routes):
                if route.provider not in known:
                    raise ValueError(
                        f"models[{i}].routes[{j}].provider: model {model.id!r} routes to "
                        f"unknown provider {route.provider!r}"
                    )
        return self

    @model_validator(mode="after")
    def _local_models(self) -> Settings:
        """``local.models`` names configured embedded models only."""
        by_id = {m.id: m for m in self.models}
        for model_id in self.local.models:
            model = by_id.get(model_id)
            if model is None:
                raise ValueError(f"local.models: no model {model_id!r} is configured under models")
            if not self.embedded(model):
                raise ValueError(
                    f"local.models.{model_id}: only models whose every route goes to a "
                    "provider of kind 'local' load in the process"
                )
        return self

    @model_validator(mode="after")
    def _defaults_servable(self) -> Settings:
        """Each default names a configured, live model that serves its task."""
        by_id = {m.id: m for m in self.models}
        for task, model_id in self.default_models.items():
            model = by_id.get(model_id)
            where = f"default_models.{task}"
            if model is None:
                raise ValueError(f"{where}: no model {model_id!r} is configured under models")
            if self.load_policy(model) == "off":
                raise ValueError(
                    f"{where}: model {model_id!r} is off (local); a default must be served"
                )
            if model.status != "live":
                raise ValueError(
                    f"{where}: model {model_id!r} is {model.status}; a default must be live"
                )
            if task not in model.serves:
                raise ValueError(
                    f"{where}: model {model_id!r} serves {', '.join(sorted(model.serves))}, "
                    f"not {task!r}"
                )
        return self

    @property
    def spool_directory(self) -> Path | None:
        """Where usage records are spooled, or None (off)."""
        from gatewayz.db.location import sqlite_file  # it imports this module

        if self.usage_spool == "off":
            return None
        database = sqlite_file(self.database_url)
        if self.usage_spool == DEFAULT_SPOOL and database is not None:
            return database.parent / Path(DEFAULT_SPOOL).name
        return Path(self.usage_spool)

    def provider(self, name: str) -> ProviderConfig:
        return next(p for p in self.providers if p.name == name)

    @property
    def origin(self) -> str:
        """Where ``models`` came from: "the configuration file" or "the embedded default"."""
        return self._origin

    def embedded(self, model: ModelConfig) -> bool:
        """Whether every route of ``model`` goes to a provider of kind ``local``."""
        local = {p.name for p in self.providers if p.kind == "local"}
        return all(route.provider in local for route in model.routes)

    def load_policy(self, model: ModelConfig) -> LoadPolicy | None:
        """When an embedded model loads (see ``LocalSettings``); None for other models."""
        if not self.embedded(model):
            return None
        return self.local.models.get(model.id, self.local.load)


def without_off_models(settings: Settings) -> Settings:
    """``settings`` serving only the models that are not ``off``: the others are left out
    of the catalog as if they were not configured (so a registry entry seeded for one
    earlier is removed)."""
    served = tuple(m for m in settings.models if settings.load_policy(m) != "off")
    return settings.model_copy(update={"models": served})


# The embedded default's task models: (gateway id, task, Hub id, local model). The Hub ids
# name the model each one actually runs; VADER and Apertium are not Hub models. The local
# model is "default", or for translation the direction used when a request gives none.
EMBEDDED_TASK_MODELS: tuple[tuple[str, Task, str, str], ...] = (
    (
        "all-minilm-l6-v2",
        "feature-extraction",
        "sentence-transformers/all-MiniLM-L6-v2",
        "default",
    ),
    (
        "minilm-zero-shot",
        "zero-shot-classification",
        "sentence-transformers/all-MiniLM-L6-v2",
        "default",
    ),
    (
        "minilm-textrank-summarizer",
        "summarization",
        "sentence-transformers/all-MiniLM-L6-v2",
        "default",
    ),
    ("en-core-web-sm", "token-classification", "spacy/en_core_web_sm", "default"),
    ("vader-sentiment", "text-classification", "gatewayz/vader-sentiment", "default"),
    ("apertium-en-es", "translation", "gatewayz/apertium-en-es", "en-es"),
)

# Embedded models ``hf sync`` never pushes: VADER and Apertium are not Hub models, and
# all-MiniLM-L6-v2's Hub pipeline tag (sentence-similarity) is neither zero-shot
# classification nor summarization, so the Hub would refuse (or mislabel) those mappings.
EMBEDDED_LOCAL_ONLY = frozenset(
    {"minilm-zero-shot", "minilm-textrank-summarizer", "vader-sentiment", "apertium-en-es"}
)

# Each embedded model serves tasks no other one does: it is their default.
EMBEDDED_DEFAULTS: dict[Task, str] = {
    "conversational": LOCAL_CHAT_MODEL,
    "text-generation": LOCAL_CHAT_MODEL,
    "sentence-similarity": "all-minilm-l6-v2",
    **{task: model_id for model_id, task, _, _ in EMBEDDED_TASK_MODELS},
}


def _local_model(model_id: str, task: Task, hub_id: str, upstream: str) -> ModelConfig:
    return ModelConfig(
        id=model_id,
        hub_model_id=hub_id,
        task=task,
        context_length=8192 if task == "conversational" else 256,
        routes=(RouteConfig(provider=LOCAL_PROVIDER, model=upstream),),
        local_only=model_id in EMBEDDED_LOCAL_ONLY,
    )


def embedded_default(database_url: str = DEFAULT_DATABASE_URL) -> Settings:
    """The configuration used when none is given: SQLite and the embedded models (chat
    and text generation with SmolLM2, and every task an embedded model can serve), each
    loaded on first use. docs/CONFIGURATION.md shows it as a file, to start from."""
    chat = _local_model(
        LOCAL_CHAT_MODEL,
        "conversational",
        "HuggingFaceTB/SmolLM2-135M-Instruct",
        LOCAL_CHAT_MODEL,
    )
    tasks = tuple(_local_model(*entry) for entry in EMBEDDED_TASK_MODELS)
    settings = Settings(
        database_url=database_url,
        providers=(ProviderConfig(name=LOCAL_PROVIDER, kind="local"),),
        models=(chat, *tasks),
        first_key_file=".gatewayz-key",
        default_models=EMBEDDED_DEFAULTS,
    )
    settings._origin = "the embedded default"
    return settings


def _where(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def parse_settings(raw: object, env: Mapping[str, str]) -> Settings:
    """Validate a parsed YAML document; raise ``ConfigError`` naming the bad key."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError("the configuration must be a YAML mapping at the top level")
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        lines = [f"{_where(err['loc'])}: {err['msg']}" for err in exc.errors()]
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(lines)) from None
    _check_kinds(settings)
    return without_off_models(_resolve_secrets(settings, env))


def _check_kinds(settings: Settings) -> None:
    """Every provider's kind has an adapter: the adapter registry is the list of kinds."""
    from gatewayz.upstreams.registry import adapter_of  # the adapters import this module

    for index, provider in enumerate(settings.providers):
        try:
            adapter_of(provider)
        except ConfigError as exc:
            raise ConfigError(f"providers[{index}].kind: {exc}") from None


def _resolve_secrets(settings: Settings, env: Mapping[str, str]) -> Settings:
    providers = []
    for index, provider in enumerate(settings.providers):
        if provider.api_key_env is None:
            providers.append(provider)
            continue
        value = env.get(provider.api_key_env)
        if not value:
            raise ConfigError(
                f"providers[{index}].api_key_env: environment variable "
                f"{provider.api_key_env} is not set"
            )
        providers.append(provider.model_copy(update={"api_key": value}))
    update: dict[str, Any] = {"providers": tuple(providers)}
    if settings.redis_url_env is not None:
        url = env.get(settings.redis_url_env)
        if not url:
            raise ConfigError(
                f"redis_url_env: environment variable {settings.redis_url_env} is not set"
            )
        update["redis_url"] = url
    elif settings.redis_url is not None and "@" in settings.redis_url:
        raise ConfigError(
            "redis_url: secrets are not read from the file; put the URL in an environment "
            "variable and name it in redis_url_env"
        )
    return settings.model_copy(update=update)


def load_settings(path: str | os.PathLike[str] | None, env: Mapping[str, str]) -> Settings:
    """Read the file at ``path`` (or ``GATEWAYZ_CONFIG``), or the embedded default."""
    chosen = path or env.get("GATEWAYZ_CONFIG")
    if not chosen:
        return embedded_default(env.get("GATEWAYZ_DATABASE_URL", DEFAULT_DATABASE_URL))
    file = Path(chosen)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read configuration file {file}: {exc.strerror}") from None
    try:
        raw: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{file} is not valid YAML: {exc}") from None
    return parse_settings(raw, env)
