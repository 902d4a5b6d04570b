"""The ``gatewayz`` command."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from gatewayz.cli_hf_kit import add_command as add_provider_kit
from gatewayz.cli_models import add_commands
from gatewayz.config import ConfigError, Settings, load_settings
from gatewayz.errors import GatewayError
from gatewayz.servers import DEFAULT_SERVER, SERVERS

if TYPE_CHECKING:
    from gatewayz.services.keys import KeyLimits

T = TypeVar("T")
_UNSET: Any = object()  # a limit flag not given
_LIMIT_HELP = (
    ("--rpm", "requests per minute"),
    ("--tpm", "tokens (input + output) per minute"),
    ("--max-concurrency", "requests in flight"),
)

KEY_IDENT_HELP = (
    "id:N, prefix:P, name:NAME or the whole key; a prefix or name alone if it names "
    "exactly one active key (a bare number is not an id)"
)


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(args.config, os.environ)


def _with_store(
    settings: Settings, work: Callable[..., Awaitable[T]], *, create: bool = False
) -> T:
    """Run ``work`` on the key store. Only ``create`` (serve, keys create) may make the
    database; other commands refuse one that is not there (``require_schema``)."""
    from gatewayz.db.engine import create_engine
    from gatewayz.db.location import require_schema
    from gatewayz.db.migrate import upgrade
    from gatewayz.services.keys import KeyStore

    if not create:
        require_schema(settings.database_url)
    upgrade(settings.database_url)

    async def run() -> T:
        engine = create_engine(settings.database_url)
        try:
            return await work(KeyStore(engine))
        finally:
            await engine.dispose()

    return asyncio.run(run())


def cmd_serve(args: argparse.Namespace) -> int:
    from gatewayz.db.migrate import upgrade
    from gatewayz.first_run import ensure_first_key, welcome
    from gatewayz.servers import run_server
    from gatewayz.services.limits import check_shared

    settings = _settings(args)
    _check_spool(settings)
    upgrade(settings.database_url)
    keys_have_limits = _with_store(settings, lambda store: store.any_limits(), create=True)
    check_shared(settings, args.workers, keys_have_limits)
    key = _with_store(settings, lambda store: ensure_first_key(settings, store), create=True)
    if key is not None and settings.models:
        print(welcome(key, args.host, args.port, settings.models[0].id), flush=True)
    run_server(args.server, settings, args.config, args.host, args.port, args.workers)
    return 0


def _check_spool(settings: Settings) -> None:
    from gatewayz.db.spool import check_directory

    directory = settings.spool_directory
    problem = None if directory is None else check_directory(directory)
    if problem is not None:
        raise ConfigError(
            f"usage_spool: {problem}; name a writable directory, or set usage_spool: off "
            "to commit every usage record to the database before its response"
        )


def cmd_keys_create(args: argparse.Namespace) -> int:
    from gatewayz.services.credits import parse_usd

    balance = None if args.balance_usd is None else parse_usd(args.balance_usd)
    limits = _limits(args)
    settings = _settings(args)
    if limits.rpm or limits.tpm or limits.max_concurrency:
        _check_limits(settings)
    key = _with_store(
        settings,
        lambda s: s.create(
            args.name,
            admin=args.admin,
            partner=args.partner,
            balance_nano_usd=balance,
            limits=limits,
        ),
        create=True,
    )
    role = "admin" if args.admin else ("partner" if args.partner else "standard")
    credit = "" if balance is None else f" with a balance of {balance} nano-USD"
    print(f"created {role} key {args.name!r}{credit}; it is shown only once:")
    print(key)
    return 0


_LIMIT_FIELDS = ("rpm", "tpm", "max_concurrency")


def _limits(args: argparse.Namespace) -> KeyLimits:
    from gatewayz.services.keys import KeyLimits

    return KeyLimits(*(getattr(args, f) for f in _LIMIT_FIELDS))


def _check_limits(settings: Settings) -> None:
    """A key's limits on a database other instances may share need Redis to hold."""
    from gatewayz.services.limits import check_shared

    check_shared(settings, 1, True)


def _limit_value(text: str) -> int | None:
    if text == "default":
        return None
    if not text.isdigit():
        raise argparse.ArgumentTypeError("a whole number >= 0 (0: no limit), or 'default'")
    return int(text)


def _shown(value: int | None) -> str:
    return "default" if value is None else ("none" if value == 0 else str(value))


def cmd_keys_limits(args: argparse.Namespace) -> int:
    fields = {f for f in _LIMIT_FIELDS if getattr(args, f) is not _UNSET}  # none: just show
    values = {f: (getattr(args, f) if f in fields else None) for f in _LIMIT_FIELDS}
    settings = _settings(args)
    if any(values.values()):
        _check_limits(settings)
    from gatewayz.services.keys import KeyLimits

    limits = _with_store(settings, lambda s: s.set_limits(args.key, KeyLimits(**values), fields))
    print(
        f"limits of {args.key}: rpm {_shown(limits.rpm)}, tpm {_shown(limits.tpm)}, "
        f"max-concurrency {_shown(limits.max_concurrency)} (running gateways apply them "
        f"within auth_cache_ttl_s = {settings.auth_cache_ttl_s:g} s)"
    )
    return 0


def cmd_keys_list(args: argparse.Namespace) -> int:
    keys = _with_store(_settings(args), lambda s: s.list())
    print(f"{'id':>4}  {'prefix':<14} {'name':<24} {'role':<8} {'created':<20} status")
    for k in keys:
        role = "admin" if k.is_admin else ("partner" if k.is_partner else "standard")
        status = f"revoked {k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "active"
        print(
            f"{k.id:>4}  {k.prefix:<14} {k.name:<24} {role:<8} "
            f"{k.created_at:%Y-%m-%d %H:%M:%S}  {status}"
        )
    return 0


def cmd_keys_revoke(args: argparse.Namespace) -> int:
    key = _with_store(_settings(args), lambda s: s.revoke(args.key))
    print(f"revoked key id:{key.id} (prefix {key.prefix}, name {key.name!r})")
    return 0


def cmd_keys_credit(args: argparse.Namespace) -> int:
    from gatewayz.services.credits import parse_usd

    amount = parse_usd(args.usd)
    key = _with_store(_settings(args), lambda s: s.credit(args.key, amount))
    print(
        f"credited {amount} nano-USD to key id:{key.id} (prefix {key.prefix}, "
        f"name {key.name!r}); balance {key.balance_nano_usd} nano-USD"
    )
    return 0


def _key_id(text: str) -> int:
    from gatewayz.schemas.query import parse_id

    try:
        return parse_id("--api-key-id", text)
    except GatewayError as exc:
        raise argparse.ArgumentTypeError(exc.message) from None


def cmd_usage_export(args: argparse.Namespace) -> int:
    from gatewayz.db.location import require_schema
    from gatewayz.db.migrate import upgrade
    from gatewayz.services.usage import UsageFilter, parse_time
    from gatewayz.services.usage_export import export_usage

    settings = _settings(args)
    require_schema(settings.database_url)
    upgrade(settings.database_url)
    flt = UsageFilter(
        api_key_id=args.api_key_id,
        start=parse_time("--start", args.start),
        end=parse_time("--end", args.end),
        model=args.model,
        task=args.task,
    )
    if args.output is None:
        asyncio.run(export_usage(settings, flt, args.format, sys.stdout))
        return 0
    with open(args.output, "w", encoding="utf-8", newline="") as out:
        count = asyncio.run(export_usage(settings, flt, args.format, out))
    print(f"wrote {count} usage records to {args.output}", file=sys.stderr)
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="gatewayz", description=__doc__)
    top.add_argument(
        "--config",
        help="YAML configuration file (default: $GATEWAYZ_CONFIG, else the embedded default)",
    )
    sub = top.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the gateway")
    serve.add_argument("--config", default=argparse.SUPPRESS)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument(
        "--server",
        choices=SERVERS,
        default=DEFAULT_SERVER,
        help=f"the ASGI server (default: {DEFAULT_SERVER}, the faster in bench/run.py)",
    )
    serve.set_defaults(func=cmd_serve)

    keys = sub.add_parser("keys", help="manage API keys").add_subparsers(
        dest="action", required=True
    )
    create = keys.add_parser("create", help="create a key and print it")
    create.add_argument("--name", required=True)
    role = create.add_mutually_exclusive_group()
    role.add_argument("--admin", action="store_true")
    role.add_argument(
        "--partner", action="store_true", help="a key for Hugging Face's router (billing lookups)"
    )
    create.add_argument("--balance-usd", help="prepaid credits, e.g. 1.50 (default: unlimited)")
    for flag, what in _LIMIT_HELP:
        create.add_argument(
            flag, type=_limit_value, default=None, help=f"{what} (default: the configured)"
        )
    create.set_defaults(func=cmd_keys_create)
    limits = keys.add_parser("limits", help="show or change a key's rate limits")
    limits.add_argument("key", help=KEY_IDENT_HELP)
    for flag, what in _LIMIT_HELP:
        limits.add_argument(
            flag, type=_limit_value, default=_UNSET, help=f"{what}; 0: none, 'default'"
        )
    limits.set_defaults(func=cmd_keys_limits)
    credit = keys.add_parser("credit", help="add prepaid credits to a key")
    credit.add_argument("key", help=KEY_IDENT_HELP)
    credit.add_argument("--usd", required=True, help="the amount, e.g. 2 or 0.25")
    credit.set_defaults(func=cmd_keys_credit)
    listing = keys.add_parser("list", help="list keys")
    listing.set_defaults(func=cmd_keys_list)
    revoke = keys.add_parser("revoke", help="revoke a key")
    revoke.add_argument("key", help=KEY_IDENT_HELP)
    revoke.set_defaults(func=cmd_keys_revoke)
    for p in (create, listing, revoke, credit, limits):
        p.add_argument("--config", default=argparse.SUPPRESS)

    usage = sub.add_parser("usage", help="usage records").add_subparsers(
        dest="action", required=True
    )
    export = usage.add_parser("export", help="stream usage records as CSV or JSON Lines")
    export.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    export.add_argument("--start", help="ISO 8601, inclusive (UTC if no offset)")
    export.add_argument("--end", help="ISO 8601, exclusive (UTC if no offset)")
    export.add_argument("--model")
    export.add_argument("--task")
    export.add_argument("--api-key-id", type=_key_id, help="one key's records (default: all keys)")
    export.add_argument("--output", help="file to write (default: standard output)")
    export.add_argument("--config", default=argparse.SUPPRESS)
    export.set_defaults(func=cmd_usage_export)
    hf = add_commands(sub)  # models ..., hf sync
    add_provider_kit(hf)  # hf provider-kit
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        result: int = args.func(args)
        return result
    except ConfigError as exc:
        print(f"gatewayz: {exc}", file=sys.stderr)
        return 2
    except GatewayError as exc:
        print(f"gatewayz: {exc.message}", file=sys.stderr)
        return 1
    except Exception as exc:
        from gatewayz.db.outage import is_outage

        if not is_outage(exc):
            raise
        # A database that cannot be opened or reached is the operator's to fix: say which.
        cause = getattr(exc, "orig", None) or exc.__cause__ or exc
        print(f"gatewayz: cannot reach the database: {cause}", file=sys.stderr)
        return 1
