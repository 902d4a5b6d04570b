"""API keys: creation, listing, revocation, and authentication of requests.

A key looks like ``gz_<prefix>_<secret>``. Only the SHA-256 of the whole key is stored;
the prefix finds the row and the hash is compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from gatewayz.db.tables import api_keys
from gatewayz.errors import AuthenticationFailed, NotFound, PermissionDenied

KEY_SCHEME = "gz"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key's id and what it may do."""

    key_id: int
    name: str
    is_admin: bool
    is_partner: bool
    # The key has a credit balance (not unlimited). Only whether it has one is cached with
    # the principal; the balance itself is always read from the database.
    metered: bool = False

    def require_admin(self) -> None:
        if not self.is_admin:
            raise PermissionDenied("this route needs an admin API key")


@dataclass(frozen=True, slots=True)
class KeyInfo:
    id: int
    name: str
    prefix: str
    is_admin: bool
    is_partner: bool
    created_at: datetime
    revoked_at: datetime | None
    balance_nano_usd: int | None = None


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _matches(ident: str) -> ColumnElement[bool]:
    """The row a numeric id, a prefix or a whole key names."""
    if ident.isdigit():
        return api_keys.c.id == int(ident)
    return api_keys.c.prefix == (_split(ident) or ident)


def _split(key: str) -> str | None:
    """The prefix of a well-formed key, else None."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_SCHEME or not parts[1] or not parts[2]:
        return None
    return parts[1]


class KeyStore:
    """Key administration (CLI and admin routes)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def create(
        self,
        name: str,
        *,
        admin: bool = False,
        partner: bool = False,
        balance_nano_usd: int | None = None,
    ) -> str:
        prefix = secrets.token_hex(6)
        key = f"{KEY_SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"
        async with self._engine.begin() as conn:
            await conn.execute(
                insert(api_keys).values(
                    name=name,
                    prefix=prefix,
                    key_hash=_hash(key),
                    is_admin=admin,
                    is_partner=partner,
                    created_at=datetime.now(UTC),
                    balance_nano_usd=balance_nano_usd,
                )
            )
        return key

    async def list(self) -> list[KeyInfo]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(select(api_keys).order_by(api_keys.c.id))
            return [
                KeyInfo(
                    id=r.id,
                    name=r.name,
                    prefix=r.prefix,
                    is_admin=r.is_admin,
                    is_partner=r.is_partner,
                    created_at=r.created_at,
                    revoked_at=r.revoked_at,
                    balance_nano_usd=r.balance_nano_usd,
                )
                for r in rows
            ]

    async def revoke(self, ident: str) -> None:
        """Revoke by numeric id, by prefix, or by the whole key."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(api_keys)
                .where(_matches(ident), api_keys.c.revoked_at.is_(None))
                .values(revoked_at=datetime.now(UTC))
            )
            if result.rowcount == 0:
                raise NotFound(f"no active key matches {ident!r}")

    async def credit(self, ident: str, amount_nano_usd: int) -> int:
        """Add credits to a key (by id, prefix or whole key) and return its new balance.
        An unlimited key becomes a metered one starting from zero."""
        balance = api_keys.c.balance_nano_usd
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(api_keys)
                .where(_matches(ident), api_keys.c.revoked_at.is_(None))
                .values(balance_nano_usd=func.coalesce(balance, 0) + amount_nano_usd)
            )
            if result.rowcount == 0:
                raise NotFound(f"no active key matches {ident!r}")
            new = await conn.scalar(select(balance).where(_matches(ident)))
        assert new is not None
        return int(new)

    async def is_active(self, key: str) -> bool:
        try:
            await Authenticator(self._engine, cache_ttl_s=0).authenticate(key)
        except AuthenticationFailed:
            return False
        return True


class Authenticator:
    """Turns a bearer key into a ``Principal``; caches hits for ``cache_ttl_s`` seconds
    so the hot path does not touch the database, while a revocation made by another
    process takes effect within that time."""

    def __init__(self, engine: AsyncEngine, *, cache_ttl_s: float) -> None:
        self._engine = engine
        self._ttl = cache_ttl_s
        self._cache: dict[str, tuple[Principal, float]] = {}

    async def authenticate(self, key: str | None) -> Principal:
        if not key:
            raise AuthenticationFailed("missing API key: send 'Authorization: Bearer <key>'")
        digest = _hash(key)
        hit = self._cache.get(digest)
        now = time.monotonic()
        if hit is not None and hit[1] > now:
            return hit[0]
        principal = await self._lookup(key, digest)
        if self._ttl > 0:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[digest] = (principal, now + self._ttl)
        return principal

    async def admin(self, header: str | None) -> Principal:
        """The admin key in an ``Authorization`` header. For a resource that only admin
        keys open (e.g. protected metrics), any other key is no credential at all: 401."""
        principal = await self.authenticate(bearer(header))
        if not principal.is_admin:
            raise AuthenticationFailed("this resource needs an admin API key")
        return principal

    async def _lookup(self, key: str, digest: str) -> Principal:
        prefix = _split(key)
        if prefix is None:
            raise AuthenticationFailed("invalid API key")
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(api_keys).where(api_keys.c.prefix == prefix))).first()
        if row is None or not hmac.compare_digest(row.key_hash, digest):
            raise AuthenticationFailed("invalid API key")
        if row.revoked_at is not None:
            raise AuthenticationFailed("this API key has been revoked")
        metered = row.balance_nano_usd is not None
        return Principal(row.id, row.name, row.is_admin, row.is_partner, metered)


def bearer(header: str | None) -> str | None:
    """The key from an ``Authorization: Bearer <key>`` header value."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None
