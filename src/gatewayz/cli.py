"""The ``gatewayz`` command."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from gatewayz.config import ConfigError, Settings, load_settings
from gatewayz.errors import GatewayError

T = TypeVar("T")


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(args.config, os.environ)


def _with_store(settings: Settings, work: Callable[..., Awaitable[T]]) -> T:
    from gatewayz.db.engine import create_engine
    from gatewayz.db.migrate import upgrade
    from gatewayz.services.keys import KeyStore

    upgrade(settings.database_url)

    async def run() -> T:
        engine = create_engine(settings.database_url)
        try:
            return await work(KeyStore(engine))
        finally:
            await engine.dispose()

    return asyncio.run(run())


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from gatewayz.db.migrate import upgrade
    from gatewayz.first_run import ensure_first_key, welcome

    settings = _settings(args)
    upgrade(settings.database_url)
    key = _with_store(settings, lambda store: ensure_first_key(settings, store))
    if key is not None and settings.models:
        print(welcome(key, args.host, args.port, settings.models[0].id), flush=True)
    common = dict(
        host=args.host,
        port=args.port,
        loop="uvloop",
        http="httptools",
        log_level=settings.log_level,
        access_log=False,
        server_header=False,
        timeout_keep_alive=30,
    )
    if args.workers > 1:
        if args.config:
            os.environ["GATEWAYZ_CONFIG"] = os.path.abspath(args.config)
        uvicorn.run("gatewayz.asgi:create_app", factory=True, workers=args.workers, **common)
    else:
        from gatewayz.app import build_app

        uvicorn.run(build_app(settings), **common)
    return 0


def cmd_keys_create(args: argparse.Namespace) -> int:
    key = _with_store(
        _settings(args), lambda s: s.create(args.name, admin=args.admin, partner=args.partner)
    )
    role = "admin" if args.admin else ("partner" if args.partner else "standard")
    print(f"created {role} key {args.name!r}; it is shown only once:")
    print(key)
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
    _with_store(_settings(args), lambda s: s.revoke(args.key))
    print(f"revoked {args.key}")
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
    create.set_defaults(func=cmd_keys_create)
    keys.add_parser("list", help="list keys").set_defaults(func=cmd_keys_list)
    revoke = keys.add_parser("revoke", help="revoke a key (by id, prefix or whole key)")
    revoke.add_argument("key")
    revoke.set_defaults(func=cmd_keys_revoke)
    for p in (create, revoke):
        p.add_argument("--config", default=argparse.SUPPRESS)
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
