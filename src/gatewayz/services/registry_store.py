"""The model registry's storage: rows <-> ``ModelConfig``, every change audited.

Each write runs in one transaction that also records who changed what (before/after as
JSON) and increments the single ``registry_state.version`` counter, which every running
instance polls to know when to reload.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import ValidationError
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gatewayz.config import ModelConfig, Pricing, RouteConfig
from gatewayz.db.tables import (
    model_checks,
    registry_audit,
    registry_models,
    registry_routes,
    registry_state,
)
from gatewayz.errors import Conflict, ModelNotFound
from gatewayz.services.model_checks import LastCheck, passed, utc, verdict

Source = Literal["config", "api"]
PRICE_FIELDS = tuple(Pricing.model_fields)
# Instances starting together race to seed the same rows; the loser retries.
_SEED_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class Entry:
    model: ModelConfig
    source: Source
    # Why the stored entry cannot be served (e.g. a price an older version accepted);
    # such an entry is still listed, replaced or deleted, but never called.
    problem: str | None = None
    # When what it serves last changed (not its status), and its last conformance check.
    changed_at: datetime | None = None
    check: LastCheck | None = None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    actor: str
    action: str
    model_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def describe_public(model: ModelConfig) -> dict[str, Any]:
    """What any key may see of a mapping: no upstream routes, no tokenizer path."""
    return {
        "provider_model_id": model.id,
        "hub_model_id": model.hub_model_id,
        "task_type": model.task,
        "tasks": list(model.tasks),
        "status": model.status,
        "context_length": model.context_length,
        "pricing": {name: str(getattr(model.pricing, name)) for name in PRICE_FIELDS},
        "adapter_type": model.adapter_type,
        "base_model": model.base_model,
        "local_only": model.local_only,
    }


def describe(model: ModelConfig) -> dict[str, Any]:
    """A mapping as admins and the audit trail see it; prices stay decimal strings."""
    return {
        **describe_public(model),
        "routes": [
            {
                "provider": r.provider,
                "model": r.model,
                "priority": r.priority,
                "weight": r.weight,
                **({} if r.cost is None else {"cost": _cost_json(r.cost)}),
            }
            for r in model.routes
        ],
        **({} if model.policy is None else {"policy": model.policy}),
        "tokenizer": model.tokenizer,
    }


def _cost_json(cost: Pricing | None) -> dict[str, str] | None:
    """A route's cost as stored and shown: decimal strings, never floats."""
    return None if cost is None else {name: str(getattr(cost, name)) for name in PRICE_FIELDS}


def _cost_of(value: Any) -> tuple[Pricing | None, str | None]:
    """A stored route cost, or None and what is wrong with it."""
    if value is None:
        return None, None
    try:
        return Pricing.model_validate(value), None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return None, f"a stored route cost is invalid ({where}: {first['msg']})"


def _values(model: ModelConfig, source: Source, now: datetime) -> dict[str, Any]:
    return {
        "hub_model_id": model.hub_model_id,
        "task": model.task,
        "extra_tasks": list(model.tasks),
        "status": model.status,
        "context_length": model.context_length,
        **{name: str(getattr(model.pricing, name)) for name in PRICE_FIELDS},
        "adapter_type": model.adapter_type,
        "base_model": model.base_model,
        "tokenizer": model.tokenizer,
        "policy": model.policy,
        "local_only": model.local_only,
        "source": source,
        "updated_at": now,
    }


def _pricing_of(row: Any) -> tuple[Pricing, str | None]:
    """The row's prices, or zero prices and what is wrong with them (rows written by an
    older version may hold prices that are no longer accepted, e.g. ``1e999``)."""
    try:
        return Pricing(**{name: getattr(row, name) for name in PRICE_FIELDS}), None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return Pricing(), f"its stored pricing is invalid ({where}: {first['msg']})"


def _entry_of(row: Any, routes: Sequence[Any], check: LastCheck | None = None) -> Entry:
    pricing, problem = _pricing_of(row)
    costs = [_cost_of(r.cost) for r in routes]
    problem = problem or next((p for _, p in costs if p is not None), None)
    model = ModelConfig(
        id=row.id,
        hub_model_id=row.hub_model_id,
        task=row.task,
        tasks=tuple(row.extra_tasks or ()),
        status=row.status,
        context_length=row.context_length,
        routes=tuple(
            RouteConfig(
                provider=r.provider,
                model=r.upstream_model,
                priority=r.priority,
                weight=r.weight,
                cost=cost,
            )
            for r, (cost, _) in zip(routes, costs, strict=True)
        ),
        pricing=pricing,
        adapter_type=row.adapter_type,
        base_model=row.base_model,
        tokenizer=row.tokenizer,
        policy=row.policy,
        local_only=bool(row.local_only),
    )
    changed_at = None if row.changed_at is None else utc(row.changed_at)
    return Entry(model, row.source, problem, changed_at, check)


def _check_of(row: Any) -> LastCheck:
    return LastCheck(utc(row.checked_at), bool(row.passed), tuple(row.probes))


class RegistryStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def version(self) -> int:
        async with self._engine.connect() as conn:
            value = await conn.scalar(
                select(registry_state.c.version).where(registry_state.c.id == 1)
            )
        return int(value or 0)

    async def load(self) -> tuple[int, list[Entry]]:
        """The version and every entry, read in one transaction so they agree."""
        async with self._engine.begin() as conn:
            version = await conn.scalar(
                select(registry_state.c.version).where(registry_state.c.id == 1)
            )
            rows = (
                await conn.execute(select(registry_models).order_by(registry_models.c.id))
            ).all()
            route_rows = (
                await conn.execute(
                    select(registry_routes).order_by(
                        registry_routes.c.model_id, registry_routes.c.position
                    )
                )
            ).all()
            checks = {
                r.model_id: _check_of(r) for r in (await conn.execute(select(model_checks))).all()
            }
        routes: dict[str, list[Any]] = {}
        for r in route_rows:
            routes.setdefault(r.model_id, []).append(r)
        entries = [_entry_of(row, routes.get(row.id, ()), checks.get(row.id)) for row in rows]
        return int(version or 0), entries

    async def audit(self, model_id: str | None = None, limit: int = 100) -> list[AuditEntry]:
        query = select(registry_audit).order_by(registry_audit.c.id.desc()).limit(limit)
        if model_id is not None:
            query = query.where(registry_audit.c.model_id == model_id)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [AuditEntry(r.at, r.actor, r.action, r.model_id, r.before, r.after) for r in rows]

    async def seed(self, models: Iterable[ModelConfig]) -> int:
        """Make the registry agree with the configuration file: the entries it names are
        written as configured; entries it once seeded but no longer names are removed;
        entries created through the API stay. Returns the number of entries changed."""
        wanted = {m.id: m for m in models}
        for attempt in range(_SEED_ATTEMPTS):
            try:
                async with self._engine.begin() as conn:
                    return await self._seed(conn, wanted)
            except (IntegrityError, OperationalError):
                if attempt == _SEED_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(0.05 * (attempt + 1))
        return 0  # unreachable: the loop returns or raises

    async def _seed(self, conn: AsyncConnection, wanted: dict[str, ModelConfig]) -> int:
        rows = (await conn.execute(select(registry_models.c.id, registry_models.c.source))).all()
        changed = 0
        for model_id, source in rows:
            if source == "config" and model_id not in wanted:
                before = await self._current(conn, model_id)
                await self._remove(conn, model_id)
                await self._audit(conn, "config", "delete", model_id, before, None)
                changed += 1
        for model in wanted.values():
            current = await self._current_entry(conn, model.id)
            if current is not None and current.model == model and current.source == "config":
                continue
            before = describe(current.model) if current else None
            await self._write(conn, model, "config", current=current)
            action = "update" if current else "create"
            await self._audit(conn, "config", action, model.id, before, describe(model))
            changed += 1
        if changed:
            await self._bump(conn)
        return changed

    async def entry(self, model_id: str) -> Entry | None:
        """The stored entry of ``model_id`` (None if there is none)."""
        async with self._engine.connect() as conn:
            return await self._current_entry(conn, model_id)

    async def put(
        self,
        model: ModelConfig,
        actor: str,
        *,
        given: frozenset[str] | None = None,
        force: bool = False,
    ) -> tuple[ModelConfig | None, ModelConfig]:
        """Create or change one entry; returns the entry before (None: created) and the
        entry written. ``given``: the fields the caller named (None: all); an entry that
        exists keeps its stored value of every other field (read in the same transaction,
        so a concurrent change of those is not undone)."""
        async with self._engine.begin() as conn:
            current = _owned(await self._current_entry(conn, model.id))
            if current is not None:
                model = merged(current.model, model, given)
            action = "update" if current else "create"
            if model.status == "live" and (current is None or current.model.status != "live"):
                check = None if current is None else await self._check(conn, model.id)
                reason = verdict(model.id, check, None if current is None else current.changed_at)
                if reason is not None and not force:
                    raise Conflict(
                        f"{reason} (or map it as staging and check it first; or force it: "
                        "'models map --force', {\"force\": true} in the API)"
                    )
                action += "" if reason is None else "_forced"
            await self._write(conn, model, "api", current=current)
            before = describe(current.model) if current else None
            await self._audit(conn, actor, action, model.id, before, describe(model))
            await self._bump(conn)
        return (None if current is None else current.model), model

    async def set_status(
        self, model_id: str, status: str, actor: str, *, force: bool = False
    ) -> ModelConfig:
        """Change a status. Going live needs a current, passing conformance check unless
        ``force`` (then audited as ``set_status_forced``)."""
        async with self._engine.begin() as conn:
            current = _owned(await self._current_entry(conn, model_id))
            if current is None:
                raise _not_found(model_id)
            updated = current.model.model_copy(update={"status": status})
            action = "set_status"
            if status == "live" and updated != current.model:
                check = await self._check(conn, model_id)
                reason = verdict(model_id, check, current.changed_at)
                if reason is not None and not force:
                    raise Conflict(
                        f"{reason} (or force it: 'set-status --force', "
                        '{"status": "live", "force": true} in the API)'
                    )
                action = "set_status" if reason is None else "set_status_forced"
            if updated != current.model:
                await conn.execute(
                    update(registry_models)
                    .where(registry_models.c.id == model_id)
                    .values(status=status, updated_at=datetime.now(UTC))
                )
                await self._audit(
                    conn, actor, action, model_id, describe(current.model), describe(updated)
                )
                await self._bump(conn)
        return updated

    async def record_check(
        self,
        model_id: str,
        probes: list[dict[str, Any]],
        actor: str,
        seen_changed_at: datetime | None,
    ) -> LastCheck:
        """Store ``model_id``'s last check (replacing the one before). ``seen_changed_at``:
        the model's ``changed_at`` when the check started; a model changed since then was
        not what was checked, and the result is refused."""
        async with self._engine.begin() as conn:
            row = (
                await conn.execute(
                    select(registry_models.c.changed_at).where(registry_models.c.id == model_id)
                )
            ).first()
            if row is None:
                raise _not_found(model_id)
            changed_at = None if row.changed_at is None else utc(row.changed_at)
            if seen_changed_at is not None and changed_at != utc(seen_changed_at):
                raise Conflict(
                    f"model {model_id!r} changed while it was checked (at "
                    f"{changed_at.isoformat() if changed_at else 'an unknown time'}): "
                    "check it again"
                )
            check = LastCheck(datetime.now(UTC), passed(probes), tuple(probes))
            await conn.execute(delete(model_checks).where(model_checks.c.model_id == model_id))
            await conn.execute(
                insert(model_checks).values(
                    model_id=model_id,
                    checked_at=check.checked_at,
                    passed=check.passed,
                    probes=probes,
                    actor=actor,
                )
            )
            await self._bump(conn)
        return check

    async def delete(self, model_id: str, actor: str) -> ModelConfig:
        async with self._engine.begin() as conn:
            current = _owned(await self._current_entry(conn, model_id))
            if current is None:
                raise _not_found(model_id)
            await self._remove(conn, model_id)
            await self._audit(conn, actor, "delete", model_id, describe(current.model), None)
            await self._bump(conn)
        return current.model

    async def _current_entry(self, conn: AsyncConnection, model_id: str) -> Entry | None:
        row = (
            await conn.execute(select(registry_models).where(registry_models.c.id == model_id))
        ).first()
        if row is None:
            return None
        routes = (
            await conn.execute(
                select(registry_routes)
                .where(registry_routes.c.model_id == model_id)
                .order_by(registry_routes.c.position)
            )
        ).all()
        return _entry_of(row, routes)

    async def _check(self, conn: AsyncConnection, model_id: str) -> LastCheck | None:
        row = (
            await conn.execute(select(model_checks).where(model_checks.c.model_id == model_id))
        ).first()
        return None if row is None else _check_of(row)

    async def _current(self, conn: AsyncConnection, model_id: str) -> dict[str, Any] | None:
        entry = await self._current_entry(conn, model_id)
        return describe(entry.model) if entry else None

    async def _write(
        self, conn: AsyncConnection, model: ModelConfig, source: Source, *, current: Entry | None
    ) -> None:
        now = datetime.now(UTC)
        values = _values(model, source, now)
        # A status alone is no change of what is served: a check stays current across it.
        if current is None or current.model.model_copy(update={"status": model.status}) != model:
            values["changed_at"] = now
        if current is not None:
            await conn.execute(
                update(registry_models).where(registry_models.c.id == model.id).values(**values)
            )
            await conn.execute(
                delete(registry_routes).where(registry_routes.c.model_id == model.id)
            )
        else:
            await conn.execute(
                insert(registry_models).values(id=model.id, created_at=now, **values)
            )
        await conn.execute(
            insert(registry_routes),
            [
                {
                    "model_id": model.id,
                    "position": i,
                    "provider": r.provider,
                    "upstream_model": r.model,
                    "priority": r.priority,
                    "weight": r.weight,
                    "cost": _cost_json(r.cost),
                }
                for i, r in enumerate(model.routes)
            ],
        )

    async def _remove(self, conn: AsyncConnection, model_id: str) -> None:
        # Routes first: SQLite enforces the cascade only with foreign_keys on.
        await conn.execute(delete(registry_routes).where(registry_routes.c.model_id == model_id))
        await conn.execute(delete(model_checks).where(model_checks.c.model_id == model_id))
        await conn.execute(delete(registry_models).where(registry_models.c.id == model_id))

    async def _audit(
        self,
        conn: AsyncConnection,
        actor: str,
        action: str,
        model_id: str,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> None:
        await conn.execute(
            insert(registry_audit).values(
                at=datetime.now(UTC),
                actor=actor,
                action=action,
                model_id=model_id,
                before=before,
                after=after,
            )
        )

    async def _bump(self, conn: AsyncConnection) -> None:
        await conn.execute(
            update(registry_state)
            .where(registry_state.c.id == 1)
            .values(version=registry_state.c.version + 1)
        )


def merged(current: ModelConfig, wanted: ModelConfig, given: frozenset[str] | None) -> ModelConfig:
    """``wanted`` where the caller named a field (``given``; None: every field), else the
    ``current`` value."""
    if given is None:
        return wanted
    kept = {name: getattr(current, name) for name in ModelConfig.model_fields if name not in given}
    return wanted.model_copy(update=kept)


def _not_found(model_id: str) -> ModelNotFound:
    return ModelNotFound(
        f"model {model_id!r} is not in the registry; GET /hf/tasks/models lists them"
    )


def _owned(entry: Entry | None) -> Entry | None:
    """The entry, if the API may change it: the configuration file wins for the entries
    it names (it is applied again at every start), so those change only there."""
    if entry is not None and entry.source == "config":
        raise Conflict(
            f"model {entry.model.id!r} is defined in the configuration file, which is applied "
            "at every start; change it there, or remove it from the file to manage it here"
        )
    return entry
