"""A burst of requests whose key is not (or no longer) cached costs one database lookup,
not one per request: under load every cache expiry used to open a connection per
request (PostgreSQL), and a burst of bad keys must not multiply queries either."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import event

from gatewayz.db.engine import create_engine
from gatewayz.db.migrate import upgrade
from gatewayz.errors import AuthenticationFailed
from gatewayz.services.keys import Authenticator, KeyStore


def test_a_burst_of_one_key_makes_one_lookup(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'gw.db'}"
    upgrade(url)

    async def run() -> tuple[int, int, list[BaseException | None]]:
        engine = create_engine(url)
        key = await KeyStore(engine).create("burst")
        queries: list[str] = []

        def count(*args: Any) -> None:
            queries.append(str(args[2]))

        event.listen(engine.sync_engine, "before_cursor_execute", count)
        auth = Authenticator(engine, cache_ttl_s=60)
        good = await asyncio.gather(*(auth.authenticate(key) for _ in range(50)))
        assert {p.name for p in good} == {"burst"}
        first = len([q for q in queries if "api_keys" in q])
        bad = key[:-4] + "AAAA"  # the right prefix, the wrong secret
        outcomes = await asyncio.gather(
            *(auth.authenticate(bad) for _ in range(50)), return_exceptions=True
        )
        second = len([q for q in queries if "api_keys" in q]) - first
        await engine.dispose()
        return first, second, [o if isinstance(o, BaseException) else None for o in outcomes]

    first, second, outcomes = asyncio.run(run())
    assert first == 1
    assert second == 1
    assert all(isinstance(o, AuthenticationFailed) for o in outcomes)
