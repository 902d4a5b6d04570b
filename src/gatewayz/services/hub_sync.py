"""``gatewayz hf sync``: make the Hub's mappings for one provider match the registry.

1. read the Hub's mappings (``GET /api/partners/{provider}/models``);
2. plan: create what the registry has and the Hub lacks, update the status where they
   differ, delete what the Hub has and the registry does not (a mapping whose
   ``providerModel`` changed is deleted and created again - the Hub cannot edit it);
3. apply the plan (``POST``, ``PUT .../{id}/status``, ``DELETE .../{id}``), one mapping at a
   time, reporting each outcome. A run after a successful one plans nothing.

The sync reads the registry and never writes to it. A model live in the registry goes
live on the Hub only with a current, passing conformance check (``gatewayz hf check``):
without one it is created as ``staging``, and a mapping already live on the Hub is held
back - left as it is and reported - rather than demoted (``gate_unverified``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from gatewayz.config import ModelConfig
from gatewayz.services.hub_client import HubClient, HubReply
from gatewayz.services.hub_mapping import HubMapping, MappingKey, desired_mappings, parse_listing

ActionKind = Literal["create", "update_status", "delete"]
_ORDER: dict[ActionKind, int] = {"delete": 0, "create": 1, "update_status": 2}
_SIGN: dict[ActionKind, str] = {"create": "+", "update_status": "~", "delete": "-"}


@dataclass(frozen=True, slots=True)
class Action:
    kind: ActionKind
    mapping: HubMapping  # create: the wanted mapping; otherwise the Hub's, with its _id
    new_status: str | None = None

    def describe(self) -> str:
        m = self.mapping
        what = f"{m.task} {m.key}"
        if self.kind == "create":
            return f"create {what} -> {m.provider_model} ({m.status})"
        if self.kind == "update_status":
            return f"update status {what}: {m.status} -> {self.new_status}"
        return f"delete {what} (was -> {m.provider_model}, {m.status})"


@dataclass(frozen=True, slots=True)
class Outcome:
    action: Action
    reply: HubReply


def plan_sync(
    desired: dict[MappingKey, HubMapping], remote: dict[MappingKey, HubMapping]
) -> list[Action]:
    """The changes that make ``remote`` equal ``desired``: deletes, creates, then status
    updates, each group in (task, Hub id) order."""
    actions: list[Action] = []
    for ident, have in remote.items():
        want = desired.get(ident)
        if want is None:
            actions.append(Action("delete", have))
        elif want.provider_model != have.provider_model or want.tags != have.tags:
            actions += [Action("delete", have), Action("create", want)]
        elif want.status != have.status:
            actions.append(Action("update_status", have, want.status))
    actions += [Action("create", want) for ident, want in desired.items() if ident not in remote]
    return sorted(actions, key=lambda a: (_ORDER[a.kind], a.mapping.ident))


def gate_unverified(
    models: Iterable[ModelConfig], unverified: Mapping[str, str]
) -> list[ModelConfig]:
    """The models as the Hub may see them: a live one without a current passing check
    (``unverified``: model id -> why) is pushed as ``staging``."""
    return [
        m.model_copy(update={"status": "staging"})
        if m.status == "live" and m.id in unverified
        else m
        for m in models
    ]


def held_back(
    actions: list[Action], remote: dict[MappingKey, HubMapping], unverified: Mapping[str, str]
) -> tuple[list[Action], list[Action]]:
    """Split off the actions that would take a live Hub mapping of an unverified model
    away from live (a demotion, or a delete-and-create): those are held back."""
    demoting = {
        ident
        for ident, have in remote.items()
        if have.status == "live"
        and any(
            a.mapping.ident == ident
            and a.kind != "delete"
            and a.mapping.provider_model in unverified
            and (a.kind == "create" or a.new_status != "live")
            for a in actions
        )
    }
    kept = [a for a in actions if a.mapping.ident not in demoting]
    return kept, [a for a in actions if a.mapping.ident in demoting]


async def apply_action(client: HubClient, action: Action) -> HubReply:
    mapping = action.mapping
    if action.kind == "create":
        return await client.create(mapping.create_body())
    if mapping.mapping_id is None:
        return HubReply(0, "the Hub's listing gave no _id for this mapping", 0)
    if action.kind == "update_status":
        assert action.new_status is not None
        return await client.set_status(mapping.mapping_id, action.new_status)
    return await client.delete(mapping.mapping_id)


async def sync(
    client: HubClient,
    provider: str,
    models: Iterable[ModelConfig],
    *,
    dry_run: bool,
    out: Callable[[str], None],
    unverified: Mapping[str, str] | None = None,
) -> int:
    """Plan and (unless ``dry_run``) apply; print as it goes. Returns the exit status:
    0 when the Hub matches (or would, for a dry run), 1 when something failed.
    ``unverified``: live models without a current passing check -> why (see the module)."""
    unverified = unverified or {}
    models = list(models)
    for m in models:
        if m.status == "live" and m.id in unverified:
            out(f"  ! {m.id} is not pushed as live: {unverified[m.id]}")
    desired, conflicts = desired_mappings(gate_unverified(models, unverified))
    for note in conflicts:
        out(f"  ! skipped {note}")
    listing = await client.list()
    if not listing.ok:
        out(f"cannot read the Hub's mappings for {provider!r}: {listing.message()}")
        return 1
    try:
        remote = parse_listing(listing.body)
    except ValueError as exc:
        out(f"cannot read the Hub's mappings for {provider!r}: {exc}")
        return 1
    actions, held = held_back(plan_sync(desired, remote), remote, unverified)
    for ident in sorted({a.mapping.ident for a in held}):
        out(f"  = held back {ident[0]} {ident[1]}: live on the Hub, left unchanged")
    if not actions:
        out(f"nothing to do: the Hub's {len(remote)} mappings for {provider!r} match the registry")
        return 1 if conflicts else 0
    counts = {k: sum(a.kind == k for a in actions) for k in _ORDER}
    out(
        f"plan for {provider!r}: {counts['create']} to create, "
        f"{counts['update_status']} to update status, {counts['delete']} to delete"
    )
    for action in actions:
        out(f"  {_SIGN[action.kind]} {action.describe()}")
    if dry_run:
        out("dry run: nothing was changed")
        return 1 if conflicts else 0
    outcomes = [Outcome(a, await apply_action(client, a)) for a in actions]
    failed = [o for o in outcomes if not o.reply.ok]
    for o in outcomes:
        verdict = "ok    " if o.reply.ok else "FAILED"
        detail = "" if o.reply.ok else f": {o.reply.message()}"
        out(f"  {verdict} {o.action.describe()}{detail}")
    out(f"applied {len(outcomes) - len(failed)} of {len(outcomes)} changes; {len(failed)} failed")
    return 1 if failed or conflicts else 0
