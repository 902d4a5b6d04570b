"""Provider kinds -> adapter classes. Adding a kind is one module plus one line here.

The configuration's ``kind`` is checked against this registry (not a copy of its names):
an unknown kind is a ``ConfigError`` naming the kinds there are."""

from __future__ import annotations

from gatewayz.config import ConfigError, ProviderConfig, Settings
from gatewayz.redact import Redactor
from gatewayz.upstreams.base import Upstream
from gatewayz.upstreams.hf import HFUpstream
from gatewayz.upstreams.local import LocalUpstream
from gatewayz.upstreams.openai import OpenAIUpstream

UPSTREAM_KINDS: dict[str, type[Upstream]] = {
    OpenAIUpstream.kind: OpenAIUpstream,
    HFUpstream.kind: HFUpstream,
    LocalUpstream.kind: LocalUpstream,
}


def adapter_of(config: ProviderConfig) -> type[Upstream]:
    cls = UPSTREAM_KINDS.get(config.kind)
    if cls is None:
        raise ConfigError(
            f"provider {config.name!r}: kind {config.kind!r} has no adapter in this version "
            f"(available: {', '.join(sorted(UPSTREAM_KINDS))})"
        )
    return cls


def build_upstream(config: ProviderConfig, redactor: Redactor) -> Upstream:
    return adapter_of(config)(config, redactor)


def provider_tasks(settings: Settings) -> dict[str, frozenset[str]]:
    """The tasks each configured provider's adapter can serve, without starting it."""
    return {p.name: adapter_of(p).tasks for p in settings.providers}
