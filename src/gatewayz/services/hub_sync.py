"""``gatewayz hf sync``: make the Hub's mappings for one provider match the registry.

1. read the Hub's mappings (``GET /api/partners/{provider}/models``);
2. plan: create what the registry has and the Hub lacks, update the status where they
   differ, delete what the Hub has and the registry does not (a mapping whose
   ``providerModel`` changed is deleted and created again - the Hub cannot edit it);
3. hold back what would take a live model off the Hub: deleting (or replacing) a live
   mapping needs ``allow_delete``, demoting one to staging ``allow_demote``. A registry
   opened by mistake (an empty or new database) then breaks nothing;
4. before creating a mapping, ask the Hub's model info (``GET /api/models/{id}``) that the
   Hub id exists and its pipeline tag fits the task; local-only entries are never pushed;
5. apply the rest (``POST``, ``PUT .../{id}/status``, ``DELETE .../{id}``), one mapping at
   a time, reporting each outcome. A run after a successful one plans nothing.

The sync reads the registry and never writes to it. A model live in the registry goes
live on the Hub only with a current, passing conformance check (``gatewayz hf check``):
without one it is created as ``staging``, and a mapping already live on the Hub is held
back - left as it is and reported - rather than demoted (``gate_unverified``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Literal

from gatewayz.config import ModelConfig
from gatewayz.services.hub_client import HubClient, HubReply
from gatewayz.services.hub_mapping import (
    HubMapping,
    MappingKey,
    desired_mappings,
    parse_listing,
    pipeline_fits,
)

ActionKind = Literal["create", "update_status", "delete"]
_ORDER: dict[ActionKind, int] = {"delete": 0, "create": 1, "update_status": 2}
_SIGN: dict[ActionKind, str] = {"create": "+", "update_status": "~", "delete": "-"}

# Exit statuses: the Hub matches (or, for a dry run, would); a change or a check failed;
# changes were held back (nothing failed). A wrong configuration or argument is 2.
OK, FAILED, HELD_BACK = 0, 1, 3
ALLOW_DELETE, ALLOW_DEMOTE = "--allow-delete", "--allow-demote"
# What holds back a change to a live mapping of a model whose check is missing or failed.
NEEDS_CHECK = "a current passing `gatewayz hf check`"
CANNOT_READ = "cannot read"


@dataclass(frozen=True, slots=True)
class Action:
    kind: ActionKind
    mapping: HubMapping  # create: the wanted mapping; otherwise the Hub's, with its _id
    new_status: str | None = None
    held_by: str | None = None  # what would let it through (a flag, or NEEDS_CHECK)

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
    desired: dict[MappingKey, HubMapping],
    remote: dict[MappingKey, HubMapping],
    *,
    allow_delete: bool = False,
    allow_demote: bool = False,
) -> list[Action]:
    """The changes that make ``remote`` equal ``desired``: deletes, creates, then status
    updates, each group in (task, Hub id) order. Those that would take a live mapping off
    the Hub carry ``held_by`` unless the matching flag allows them."""
    delete_flag = None if allow_delete else ALLOW_DELETE
    demote_flag = None if allow_demote else ALLOW_DEMOTE
    actions: list[Action] = []
    for ident, have in remote.items():
        live = have.status == "live"
        want = desired.get(ident)
        if want is None:
            actions.append(Action("delete", have, held_by=delete_flag if live else None))
        elif want.provider_model != have.provider_model or want.tags != have.tags:
            held = delete_flag if live else None  # the mapping is gone between the two
            actions += [Action("delete", have, held_by=held), Action("create", want, held_by=held)]
        elif want.status != have.status:
            held = demote_flag if live else None
            actions.append(Action("update_status", have, want.status, held_by=held))
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


def hold_unverified(
    actions: list[Action], remote: dict[MappingKey, HubMapping], unverified: Mapping[str, str]
) -> list[Action]:
    """Hold back the actions that would take a live Hub mapping of an unverified model away
    from live (a demotion, or a delete-and-create): no flag lets those through; the model
    stays live on the Hub as it is until a check passes (or the registry unmaps it)."""
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
    return [replace(a, held_by=NEEDS_CHECK) if a.mapping.ident in demoting else a for a in actions]


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


async def hub_model_problem(client: HubClient, mapping: HubMapping) -> str | None:
    """Why the Hub would not take ``mapping`` (its Hub id is not a Hub model, or its
    pipeline tag does not fit the task), or None. Tag filters are not one model."""
    if mapping.is_tag_filter:
        return None
    reply = await client.model_info(mapping.key)
    if reply.status in (401, 404):
        return f"{mapping.key} is not a model on the Hub (HTTP {reply.status})"
    if not reply.ok or not isinstance(reply.body, dict):
        return f"{CANNOT_READ} {mapping.key}'s model info: {reply.message()}"
    tag = reply.body.get("pipeline_tag")
    tags = reply.body.get("tags")
    tags = [str(t) for t in tags] if isinstance(tags, list) else []
    if not pipeline_fits(mapping.task, tag if isinstance(tag, str) else None, tags):
        return (
            f"{mapping.key} has pipeline_tag {tag!r} on the Hub, "
            f"which does not fit {mapping.task!r}"
        )
    return None


async def sync(
    client: HubClient,
    provider: str,
    models: Iterable[ModelConfig],
    *,
    dry_run: bool,
    out: Callable[[str], None],
    allow_delete: bool = False,
    allow_demote: bool = False,
    unverified: Mapping[str, str] | None = None,
) -> int:
    """Plan and (unless ``dry_run``) apply; print as it goes. Returns the exit status:
    ``OK`` when the Hub matches (or would, for a dry run; entries skipped by rule are
    reported, not failures), ``FAILED`` when a change failed or the Hub could not be
    asked about an entry, ``HELD_BACK`` when changes were held back.
    ``unverified``: live models without a current passing check -> why (see the module)."""
    unverified = unverified or {}
    models = list(models)
    local_only = sorted(m.id for m in models if m.local_only)
    if local_only:
        out(f"  local-only, never pushed: {', '.join(local_only)}")
    for m in models:
        if m.status == "live" and m.id in unverified and not m.local_only:
            out(f"  ! {m.id} is not pushed as live: {unverified[m.id]}")
    desired, problems = desired_mappings(gate_unverified(models, unverified))
    listing = await client.list()
    if not listing.ok:
        out(f"cannot read the Hub's mappings for {provider!r}: {listing.message()}")
        return FAILED
    try:
        remote = parse_listing(listing.body)
    except ValueError as exc:
        out(f"cannot read the Hub's mappings for {provider!r}: {exc}")
        return FAILED
    unread: list[str] = []  # the Hub could not be asked: a failure, unlike a skip by rule
    for ident, want in list(desired.items()):
        if ident in remote:
            continue  # the Hub took this task and model once: nothing to ask
        problem = await hub_model_problem(client, want)
        if problem is not None:
            unknown = problem.startswith(CANNOT_READ)
            (unread if unknown else problems).append(f"{want.provider_model}: {problem}")
            del desired[ident]
    for note in problems:
        out(f"  ! skipped {note}; not pushed")
    for note in unread:
        out(f"  ! FAILED {note}; not pushed")
    pushable = sum(not m.local_only for m in models)
    out(
        f"{len(desired)} of {pushable} entries to push"
        + (f" ({len(local_only)} local-only left out)" if local_only else "")
        + (f"; {len(problems) + len(unread)} skipped (see above)" if problems or unread else "")
    )
    if not desired and remote:
        out(
            f"warning: the registry has no mapping to push, and the Hub holds {len(remote)} for "
            f"{provider!r}: is this the registry you meant (see the database above)?"
        )
    actions = plan_sync(desired, remote, allow_delete=allow_delete, allow_demote=allow_demote)
    actions = hold_unverified(actions, remote, unverified)
    held = [a for a in actions if a.held_by is not None]
    todo = [a for a in actions if a.held_by is None]
    # Entries skipped by rule (not a Hub model, another pipeline, a duplicate) are no
    # failure: they are reported above; the Hub not answering about one is.
    failed_before = FAILED if unread else OK
    if not actions:
        skipped = f" (but for the {len(problems)} skipped above)" if problems else ""
        unchecked = f"; {len(unread)} could not be checked" if unread else ""
        out(
            f"nothing to do: the Hub's {len(remote)} mappings for {provider!r} match the "
            f"registry{skipped}{unchecked}"
        )
        return failed_before
    counts = {k: sum(a.kind == k for a in todo) for k in _ORDER}
    out(
        f"plan for {provider!r}: {counts['create']} to create, "
        f"{counts['update_status']} to update status, {counts['delete']} to delete"
        + (f", {len(held)} held back" if held else "")
    )
    for action in todo:
        out(f"  {_SIGN[action.kind]} {action.describe()}")
    for action in held:
        why = (
            f"needs {action.held_by}" if action.held_by == NEEDS_CHECK else f"pass {action.held_by}"
        )
        out(f"  held back: {action.describe()} ({why})")
    flags = sorted({a.held_by for a in held if a.held_by and a.held_by != NEEDS_CHECK})
    if flags:
        out(
            f"{len(held)} change(s) would take live models off the Hub and were held back; "
            f"run again with {' and '.join(flags)} if that is what you want"
        )
    held_for_check = sum(a.held_by == NEEDS_CHECK for a in held)
    if held_for_check:
        out(
            f"{held_for_check} change(s) to mappings live on the Hub were held back until their "
            "models pass `gatewayz hf check` (no flag lets them through)"
        )
    if dry_run:
        out("dry run: nothing was changed")
        return failed_before or (HELD_BACK if held else OK)
    outcomes = [Outcome(a, await apply_action(client, a)) for a in todo]
    failed = [o for o in outcomes if not o.reply.ok]
    for o in outcomes:
        verdict = "ok    " if o.reply.ok else "FAILED"
        detail = "" if o.reply.ok else f": {o.reply.message()}"
        out(f"  {verdict} {o.action.describe()}{detail}")
    out(f"applied {len(outcomes) - len(failed)} of {len(outcomes)} changes; {len(failed)} failed")
    if failed or unread:
        return FAILED
    return HELD_BACK if held else OK
