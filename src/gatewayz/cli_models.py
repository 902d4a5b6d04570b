"""``gatewayz models ...`` and ``gatewayz hf sync``: the registry from the command line.

The work is done by ``services.registry`` and ``services.hub_sync``; this module parses
arguments and prints. Changes made here are audited as ``cli`` and reach running
instances through the registry's change counter.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from gatewayz.cli_hf_check import add_command as add_check_command
from gatewayz.config import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from gatewayz.services.registry import Registry

T = TypeVar("T")
CLI_ACTOR = "cli"
SYNC_EXIT_CODES = """exit status:
  0  the Hub matches the registry (a dry run: would match); entries skipped by rule
     (local-only, not a model on the Hub, a pipeline tag of another task, a duplicate)
     are listed, and are no failure
  1  a change failed, or the Hub could not be asked about an entry
  2  a wrong argument or configuration, or no registry database where database_url
     points (hf sync never creates one)
  3  changes that would take live models off the Hub were held back (nothing failed)"""


def _open(args: argparse.Namespace) -> Settings:
    """The settings, with the database migrated. The database must be there: these
    commands never create one (run from the wrong directory, a relative ``database_url``
    would name a new, empty one), so its absence is a ``ConfigError`` naming its path."""
    from gatewayz.db.location import require_schema
    from gatewayz.db.migrate import upgrade

    settings: Settings = load_settings(args.config, os.environ)
    require_schema(settings.database_url)
    upgrade(settings.database_url)
    return settings


def _with_registry(
    args: argparse.Namespace,
    work: Callable[[Registry], Awaitable[T]],
    opened: Settings | None = None,
) -> T:
    from gatewayz.db.engine import create_engine
    from gatewayz.services.registry import Registry
    from gatewayz.services.route_probe import RouteProbe
    from gatewayz.upstreams.registry import provider_tasks

    settings = opened or _open(args)

    async def run() -> T:
        engine = create_engine(settings.database_url)
        try:
            registry = Registry(
                engine,
                settings.models,
                provider_tasks(settings),
                probe=RouteProbe(settings.providers),
                origin=settings.origin,
            )
            await registry.load()
            return await work(registry)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _route(text: str) -> dict[str, Any]:
    """``provider:model[:priority[:weight]]``; the model may itself contain ':'."""
    provider, _, rest = text.partition(":")
    parts = rest.rsplit(":", 2)
    numbers: list[int] = []
    while len(parts) > 1 and parts[-1].lstrip("-").isdigit() and len(numbers) < 2:
        numbers.insert(0, int(parts.pop()))
    model = ":".join(parts)
    if not provider or not model:
        raise argparse.ArgumentTypeError(f"{text!r}: write a route as provider:model")
    route: dict[str, Any] = {"provider": provider, "model": model}
    route.update(zip(("priority", "weight"), numbers, strict=False))
    return route


def _price(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"{text!r}: write a price as name=decimal")
    return name, value


def _cost(text: str) -> tuple[str, str, str]:
    """``provider:name=decimal``: what that provider charges (its routes' ``cost``)."""
    provider, sep, price = text.partition(":")
    if not sep or not provider:
        raise argparse.ArgumentTypeError(f"{text!r}: write a cost as provider:name=decimal")
    return (provider, *_price(price))


def _with_costs(
    routes: list[dict[str, Any]], costs: list[tuple[str, str, str]]
) -> list[dict[str, Any]]:
    unknown = {p for p, _, _ in costs} - {r["provider"] for r in routes}
    if unknown:
        raise SystemExit(f"--cost names providers without a route: {', '.join(sorted(unknown))}")
    for route in routes:
        cost = {name: value for p, name, value in costs if p == route["provider"]}
        if cost:
            route["cost"] = cost
    return routes


def cmd_list(args: argparse.Namespace) -> int:
    from gatewayz.services.registry_store import describe

    async def work(registry: Registry) -> list[dict[str, Any]]:
        return [
            {
                **describe(m),
                "source": registry.source(m.id),
                "last_check": registry.check_json(m.id),
            }
            for m in registry.all()
            if (args.task is None or m.task == args.task)
            and (args.status is None or m.status == args.status)
        ]

    rows = _with_registry(args, work)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for line in _table(
        ("model", "hub model", "task", "status", "hub sync", "last check", "routes"),
        [
            (
                r["provider_model_id"],
                r["hub_model_id"],
                r["task_type"],
                r["status"],
                # What hf sync does with it: never pushed, or pushed (if the Hub takes it).
                "local-only" if r["local_only"] else "pushable",
                _check_cell(r["last_check"]),
                ", ".join(f"{x['provider']}:{x['model']}" for x in r["routes"]),
            )
            for r in rows
        ],
    ):
        print(line)
    return 0


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    """Columns as wide as their widest cell (the last one unpadded)."""
    widths = [max(len(str(row[i])) for row in (header, *rows)) for i in range(len(header) - 1)]
    return [
        (" ".join(f"{c:<{w}}" for c, w in zip(row, widths, strict=False)) + " " + row[-1]).rstrip()
        for row in (header, *rows)
    ]


def _check_cell(check: dict[str, Any] | None) -> str:
    """``passed 2026-12-07 14:03`` / ``FAILED ...`` / ``... (stale)`` / ``none``."""
    if check is None:
        return "none"
    when = check["checked_at"][:16].replace("T", " ")
    verdict = "passed" if check["passed"] else "FAILED"
    return f"{verdict} {when}{' (stale)' if check['stale'] else ''}"


def cmd_map(args: argparse.Namespace) -> int:
    from gatewayz.schemas.registry import MappingRequest
    from gatewayz.schemas.validate import validate

    body: dict[str, Any] = {
        "provider_model_id": args.id,
        "hub_model_id": args.hub,
        "task_type": args.task,
        "routes": _with_costs(args.route, args.cost),
    }
    # Only what is given: a re-map of an existing model keeps the fields not named here.
    if args.status is not None:
        body["status"] = args.status
    if args.price:
        body["pricing"] = dict(args.price)
    if args.extra_task:
        body["tasks"] = args.extra_task
    if args.context_length is not None:
        body["context_length"] = args.context_length
    if args.lora_base is not None:
        body.update(adapter_type="lora", base_model=args.lora_base)
    if args.policy is not None:
        body["policy"] = args.policy
    if args.local_only:
        body["local_only"] = True
    if args.force:
        body["force"] = True
    request = validate(MappingRequest, body)
    model, given = request.to_model(), request.given()
    mapped = _with_registry(
        args, lambda registry: registry.map(model, CLI_ACTOR, given=given, force=args.force)
    )
    stored = mapped.model
    said = ""
    if not mapped.created:
        said = " (status kept; --status changes it)" if args.status is None else ""
        said += f"; changed: {', '.join(mapped.changed)}" if mapped.changed else "; no change"
    print(
        f"{'created' if mapped.created else 'updated'} {stored.id} -> {stored.hub_model_id} "
        f"({stored.task}, {stored.status}){said}"
    )
    for note in mapped.notes:
        print(f"note: {note}", file=sys.stderr)
    return 0


def cmd_set_status(args: argparse.Namespace) -> int:
    model = _with_registry(
        args, lambda r: r.set_status(args.id, args.status, CLI_ACTOR, force=args.force)
    )
    print(f"{model.id} is now {model.status}")
    return 0


def cmd_unmap(args: argparse.Namespace) -> int:
    model = _with_registry(args, lambda r: r.unmap(args.id, CLI_ACTOR))
    print(f"removed {model.id} from the registry")
    return 0


def cmd_hf_sync(args: argparse.Namespace) -> int:
    import aiohttp

    from gatewayz.db.location import shown
    from gatewayz.redact import Redactor
    from gatewayz.services.hub_client import HubClient, check_hub_url
    from gatewayz.services.hub_sync import sync

    check_hub_url(args.hub_url)  # before anything is read or sent
    token = os.environ.get(args.token_env) or None
    if token is None and not args.dry_run:
        raise ConfigError(
            f"environment variable {args.token_env} is not set: the sync needs a Hub token "
            "with write access to the provider's organization (--dry-run needs none)"
        )

    # The Hub's replies are quoted in the report: never with the token (or another) in them.
    redactor = Redactor([token])

    def out(line: str) -> None:
        print(redactor.redact(line), flush=True)

    settings = _open(args)

    async def work(registry: Registry) -> int:
        models = registry.all()
        out(f"registry: {shown(settings.database_url)} ({len(models)} entries)")
        if not models:
            out("warning: the registry is empty")
        async with aiohttp.ClientSession() as session:
            client = HubClient(session, args.hub_url, args.provider, token)
            unverified = {
                m.id: reason
                for m in models
                if m.status == "live" and (reason := registry.not_verified(m.id)) is not None
            }
            return await sync(
                client,
                args.provider,
                models,
                dry_run=args.dry_run,
                out=out,
                allow_delete=args.allow_delete,
                allow_demote=args.allow_demote,
                unverified=unverified,
            )

    return _with_registry(args, work, settings)


def _hub_model(text: str) -> tuple[str, tuple[str, ...]]:
    hub_id, sep, tags = text.partition("=")
    parts = [t for t in tags.split(",") if t]
    if not sep or "/" not in hub_id or not parts:
        raise argparse.ArgumentTypeError(f"{text!r}: write namespace/name=pipeline_tag[,tag...]")
    return hub_id, tuple(parts)


def cmd_hf_standin(args: argparse.Namespace) -> int:
    import secrets
    from pathlib import Path

    from gatewayz.hub_standin import HubModel, HubStandin

    state = Path(args.state).resolve() if args.state else None
    server = HubStandin(args.port, state)
    token = os.environ.get(args.token_env) or ""
    shown_token = f"${args.token_env}"  # the operator's own: not printed
    if not token:
        token = "hf_standin_" + secrets.token_hex(12)
        shown_token = token
    # hf sync reads the token from the same variable; naming it otherwise needs --token-env.
    token_env = "" if args.token_env == "HF_TOKEN" else f" --token-env {args.token_env}"
    for provider in args.provider:
        server.allow(token, provider)
    for hub_id, (pipeline_tag, *tags) in args.model:
        server.add_model(hub_id, HubModel(pipeline_tag, tuple(tags)))
    saved = f"saved to {state}" if state else "in memory only (--state FILE keeps it)"
    print(
        f"Hub stand-in on {server.url}: providers {', '.join(args.provider)}, write token "
        f"{shown_token}; mappings {saved}.\n"
        f"Rehearse with: HF_ENDPOINT={server.url} {args.token_env}={shown_token} gatewayz "
        f"hf sync{token_env} --provider {args.provider[0]} --dry-run",
        flush=True,
    )
    server.run()
    return 0


def add_commands(sub: Any) -> Any:
    """Register ``models`` and ``hf`` on the top-level subparsers; returns ``hf``'s
    subparsers, for the ``hf`` commands of other modules."""
    from gatewayz.services.hub_client import DEFAULT_HUB_URL
    from gatewayz.tasks import ALL_TASKS

    statuses = ("staging", "live")
    models = sub.add_parser("models", help="the model registry").add_subparsers(
        dest="action", required=True
    )
    listing = models.add_parser("list", help="list registered models")
    listing.add_argument("--task", choices=ALL_TASKS)
    listing.add_argument("--status", choices=statuses)
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(func=cmd_list)

    mapping = models.add_parser(
        "map",
        help="register a mapping, or change the fields given of an existing one "
        "(the others keep their values)",
    )
    mapping.add_argument("--id", required=True, help="the gateway model id (providerModel)")
    mapping.add_argument("--hub", required=True, help="the Hub model id, namespace/name")
    mapping.add_argument("--task", required=True, choices=ALL_TASKS)
    mapping.add_argument("--extra-task", action="append", default=[], choices=ALL_TASKS)
    mapping.add_argument(
        "--status",
        choices=statuses,
        help="default: staging for a new mapping; a re-map keeps the current status",
    )
    mapping.add_argument(
        "--force",
        action="store_true",
        help="take the model live without a current passing 'gatewayz hf check' (audited)",
    )
    mapping.add_argument(
        "--route",
        action="append",
        type=_route,
        required=True,
        help="provider:upstream-model[:priority[:weight]] (repeat for failover)",
    )
    mapping.add_argument(
        "--price",
        action="append",
        type=_price,
        default=[],
        help="e.g. input_per_million_usd=0.50 (repeatable)",
    )
    mapping.add_argument(
        "--cost",
        action="append",
        type=_cost,
        default=[],
        help="what a provider charges you, for model:cheapest: "
        "e.g. groq:input_per_million_usd=0.05 (repeatable)",
    )
    mapping.add_argument(
        "--policy", choices=("fastest", "cheapest"), help="default routing policy of the model"
    )
    mapping.add_argument("--context-length", type=int)
    mapping.add_argument("--lora-base", help="map as a LoRA tag filter on this base model")
    mapping.add_argument(
        "--local-only",
        action="store_true",
        help="serve it, but never push it to the Hub (hf sync leaves it out)",
    )
    mapping.set_defaults(func=cmd_map)

    status = models.add_parser("set-status", help="set a mapping's status")
    status.add_argument("id")
    status.add_argument("status", choices=statuses)
    status.add_argument(
        "--force",
        action="store_true",
        help="go live without a current, passing 'hf check' (audited as forced)",
    )
    status.set_defaults(func=cmd_set_status)

    unmap = models.add_parser("unmap", help="remove a mapping")
    unmap.add_argument("id")
    unmap.set_defaults(func=cmd_unmap)

    hf = sub.add_parser("hf", help="Hugging Face").add_subparsers(dest="action", required=True)
    sync = hf.add_parser(
        "sync",
        help="push the registry to the Hub's Model Mapping API",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=SYNC_EXIT_CODES,
    )
    sync.add_argument("--provider", required=True, help="your provider name on the Hub")
    sync.add_argument(
        "--hub-url",
        default=os.environ.get("HF_ENDPOINT") or DEFAULT_HUB_URL,
        help="the Hub's address, https:// (http:// for loopback only; default: "
        "$HF_ENDPOINT, else https://huggingface.co)",
    )
    sync.add_argument("--token-env", default="HF_TOKEN", help="variable holding the Hub token")
    sync.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    sync.add_argument(
        "--allow-delete",
        action="store_true",
        help="delete (or replace) live Hub mappings the registry lacks (held back otherwise)",
    )
    sync.add_argument(
        "--allow-demote",
        action="store_true",
        help="set live Hub mappings to staging when the registry says so (held back otherwise)",
    )
    sync.set_defaults(func=cmd_hf_sync)
    add_check_command(hf)  # hf check: talks to a running gateway, reads no configuration

    standin = hf.add_parser(
        "stand-in",
        help="serve a local stand-in for the Hub's Model Mapping API, to rehearse hf sync",
    )
    standin.add_argument("--port", type=int, required=True, help="port on 127.0.0.1")
    standin.add_argument("--state", help="JSON file keeping the mappings across restarts")
    standin.add_argument(
        "--provider",
        action="append",
        required=True,
        help="a provider (Hub organization) the token may write to (repeatable)",
    )
    standin.add_argument(
        "--token-env",
        default="HF_TOKEN",
        help="variable holding the write token to accept (unset: one is made and printed)",
    )
    standin.add_argument(
        "--model",
        action="append",
        type=_hub_model,
        default=[],
        help="a Hub model to know besides the built-in ones: namespace/name=pipeline_tag[,tag...]",
    )
    standin.set_defaults(func=cmd_hf_standin)

    for p in (listing, mapping, status, unmap, sync):
        p.add_argument("--config", default=argparse.SUPPRESS)
    return hf
