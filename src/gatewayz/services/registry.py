"""The model registry: the ``Catalog`` the gateway serves from, kept in the database.

Lookups (``get``, ``resolve``, ``live``, ``all``) answer from an in-memory snapshot, so the
hot path never touches the database. A background task reads one integer - the registry's
change counter - every ``REFRESH_INTERVAL_S`` and reloads the snapshot when it moved, so a
change made through any instance sharing the database is served by every instance within
about that time, without a restart. A change made through this instance is visible here
at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from gatewayz.config import ModelConfig
from gatewayz.errors import InvalidRequest, TaskMismatch
from gatewayz.services.catalog import Catalog
from gatewayz.services.model_checks import LastCheck, verdict
from gatewayz.services.registry_store import (
    AuditEntry,
    Entry,
    RegistryStore,
    Source,
    describe,
    merged,
)
from gatewayz.services.route_probe import RouteProbe
from gatewayz.tasks import Task

log = logging.getLogger("gatewayz.registry")

REFRESH_INTERVAL_S = 1.0
STATUSES = ("staging", "live")
# Hub repository ids: "namespace/name".
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_MODEL_ID = re.compile(r"^[^\s]{1,200}$")


def check_mapping(model: ModelConfig, providers: Mapping[str, frozenset[str]]) -> None:
    """Reject a mapping the gateway could not serve: an unknown provider, or a task that a
    route's provider does not serve (e.g. text-to-image routed to a chat upstream)."""
    if not _MODEL_ID.match(model.id) or model.id.startswith("/") or model.id.endswith("/"):
        raise InvalidRequest(
            f"provider_model_id {model.id!r}: use 1-200 characters, no spaces, "
            "no leading or trailing '/'"
        )
    if not _HUB_ID.match(model.hub_model_id):
        raise InvalidRequest(
            f"hub_model_id {model.hub_model_id!r} is not a Hub repository id (namespace/name)"
        )
    if (model.adapter_type is None) != (model.base_model is None):
        raise InvalidRequest("adapter_type 'lora' and base_model go together: give both or neither")
    if model.base_model is not None and not _HUB_ID.match(model.base_model):
        raise InvalidRequest(f"base_model {model.base_model!r} is not a Hub repository id")
    for index, route in enumerate(model.routes):
        served = providers.get(route.provider)
        if served is None:
            known = ", ".join(sorted(providers)) or "none"
            raise InvalidRequest(
                f"routes[{index}].provider: unknown provider {route.provider!r} "
                f"(configured: {known})"
            )
        for task in (model.task, *model.tasks):
            if task not in served:
                raise TaskMismatch(
                    f"task {task!r} does not fit model {model.id!r}: its route to provider "
                    f"{route.provider!r} serves only {', '.join(sorted(served))}"
                )


@dataclass(frozen=True, slots=True)
class Mapped:
    """The outcome of ``Registry.map``."""

    created: bool
    model: ModelConfig  # as stored (with the fields it kept)
    notes: list[str]  # what could not be checked with the upstreams, and live changes
    changed: list[str]  # the fields a re-map changed (describe()'s names); [] when created


class Registry(Catalog):
    """The catalog, backed by the database and shared by every instance."""

    def __init__(
        self,
        engine: AsyncEngine,
        config_models: Iterable[ModelConfig],
        providers: Mapping[str, frozenset[str]],
        *,
        defaults: Mapping[Task, str] | None = None,
        refresh_interval_s: float = REFRESH_INTERVAL_S,
        probe: RouteProbe | None = None,
        origin: str = "the configuration file",
    ) -> None:
        config_models = tuple(config_models)
        # Served until the first load from the database. The defaults name entries of the
        # configuration file, which the API cannot change, so they hold across reloads.
        super().__init__(config_models, defaults)
        self.store = RegistryStore(engine)
        self._config_models = config_models
        self._providers = dict(providers)
        self._probe = probe
        self._origin = origin  # where config_models came from, for the log
        self._interval = refresh_interval_s
        self._version = -1
        self._sources: dict[str, Source] = {m.id: "config" for m in config_models}
        self._checks: dict[str, tuple[LastCheck | None, datetime | None]] = {}
        self._poller: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Seed from the configuration file, load, and keep the snapshot fresh."""
        await self.load()
        self._poller = asyncio.create_task(self._poll(), name="registry-refresh")

    async def load(self) -> None:
        changed = await self.store.seed(self._config_models)
        if changed:
            log.info("registry: %d entries written from %s", changed, self._origin)
        await self.refresh(force=True)

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None

    async def refresh(self, *, force: bool = False) -> bool:
        """Reload when another writer moved the change counter; True if reloaded."""
        if not force and await self.store.version() == self._version:
            return False
        version, entries = await self.store.load()
        self._install(version, entries)
        return True

    def _install(self, version: int, entries: list[Entry]) -> None:
        unusable = {e.model.id: e.problem for e in entries if e.problem is not None}
        for model_id, problem in unusable.items():
            if self._unusable.get(model_id) != problem:
                log.error("registry: model %r is not served: %s", model_id, problem)
        snapshot = Catalog((e.model for e in entries), unusable=unusable)
        # Swapped between awaits: a request sees the old snapshot or the new, never a mix.
        self._models, self._by_id = snapshot._models, snapshot._by_id
        self._unusable = snapshot._unusable
        self._sources = {e.model.id: e.source for e in entries}
        self._checks = {e.model.id: (e.check, e.changed_at) for e in entries}
        self._version = version

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.refresh()
            except (SQLAlchemyError, OSError) as exc:
                # Keep serving the last snapshot; the next tick tries again.
                log.warning("registry refresh failed: %s", exc)

    @property
    def version(self) -> int:
        return self._version

    def source(self, model_id: str) -> Source:
        return self._sources.get(model_id, "api")

    def last_check(self, model_id: str) -> LastCheck | None:
        return self._checks.get(model_id, (None, None))[0]

    def changed_at(self, model_id: str) -> datetime | None:
        """When what ``model_id`` serves last changed (its status aside)."""
        return self._checks.get(model_id, (None, None))[1]

    def check_json(self, model_id: str) -> dict[str, Any] | None:
        """``last_check`` as the registry API shows it, or None when never checked."""
        check, changed_at = self._checks.get(model_id, (None, None))
        return None if check is None else check.as_json(changed_at)

    def not_verified(self, model_id: str) -> str | None:
        """Why ``model_id`` may not be live on the Hub, or None when its check is current
        and passed (as of the last snapshot)."""
        check, changed_at = self._checks.get(model_id, (None, None))
        return verdict(model_id, check, changed_at)

    async def record_check(
        self,
        model_id: str,
        probes: list[dict[str, Any]],
        actor: str,
        seen_changed_at: datetime | None,
    ) -> LastCheck:
        check = await self.store.record_check(model_id, probes, actor, seen_changed_at)
        await self.refresh(force=True)
        return check

    async def map(
        self,
        model: ModelConfig,
        actor: str,
        *,
        given: frozenset[str] | None = None,
        force: bool = False,
    ) -> Mapped:
        """Register a mapping, or change one, once its upstreams are asked what they serve
        (``RouteProbe``). ``given``: the fields the request named (None: all); a mapping
        that exists keeps its stored value of the others - its status, prices and context
        length above all, so a re-run never demotes a live model or makes it free. Taking a
        model live here needs a current passing check, as ``set_status`` does, unless
        ``force``."""
        current = await self.store.entry(model.id)
        if current is not None:
            model = merged(current.model, model, given)
        check_mapping(model, self._providers)
        notes = await self._probe.check(model) if self._probe is not None else []
        before, stored = await self.store.put(model, actor, given=given, force=force)
        await self.refresh(force=True)
        if before is None:
            return Mapped(True, stored, notes, [])
        old, new = describe(before), describe(stored)
        changed = [name for name in new if old.get(name) != new[name]]
        if before.status == "live" and before.hub_model_id != stored.hub_model_id:
            notes.append(
                f"hub_model_id of live model {stored.id!r} changed from "
                f"{before.hub_model_id!r} to {stored.hub_model_id!r}: the next 'gatewayz hf "
                f"sync' deletes the Hub's mapping of {before.hub_model_id} (with "
                f"--allow-delete) and creates one for {stored.hub_model_id}"
            )
        return Mapped(False, stored, notes, changed)

    async def set_status(
        self, model_id: str, status: str, actor: str, *, force: bool = False
    ) -> ModelConfig:
        """Going live needs a current, passing check unless ``force`` (audited as forced)."""
        if status not in STATUSES:
            raise InvalidRequest(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
        model = await self.store.set_status(model_id, status, actor, force=force)
        await self.refresh(force=True)
        return model

    async def unmap(self, model_id: str, actor: str) -> ModelConfig:
        model = await self.store.delete(model_id, actor)
        await self.refresh(force=True)
        return model

    async def audit(self, model_id: str | None = None, limit: int = 100) -> list[AuditEntry]:
        return await self.store.audit(model_id, limit)
