"""API keys: creation, listing, revocation, and authentication of requests.

A key looks like ``gz_<prefix>_<secret>``. Only the SHA-256 of the whole key is stored;
the prefix finds the row and the hash is compared in constant time.

Administration names a key as ``id:N``, ``prefix:P``, ``name:NAME`` or the whole key; a
prefix or a name alone also works while it names exactly one active key. An identifier
that names several is refused with the candidates listed, never resolved by a guess.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gatewayz.db.tables import api_keys
from gatewayz.errors import AuthenticationFailed, InvalidRequest, NotFound, PermissionDenied
from gatewayz.money import MAX_BALANCE_NANO_USD

KEY_SCHEME = "gz"


@dataclass(frozen=True, slots=True)
class KeyLimits:
    """A key's own rate limits (migration 0007): None takes the configuration's default,
    0 is no limit for this key."""

    rpm: int | None = None
    tpm: int | None = None
    max_concurrency: int | None = None

    @classmethod
    def of_row(cls, row: Any) -> KeyLimits | None:
        if row.rate_rpm is None and row.rate_tpm is None and row.max_concurrency is None:
            return None
        return cls(row.rate_rpm, row.rate_tpm, row.max_concurrency)


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
    # The key's own rate limits, if any were set (the configured default applies otherwise).
    limits: KeyLimits | None = None

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
    limits: KeyLimits | None = None


_FIELD_OF = {"rate_rpm": "rpm", "rate_tpm": "tpm", "max_concurrency": "max_concurrency"}


def _limit_values(limits: KeyLimits) -> dict[str, int | None]:
    return {
        "rate_rpm": limits.rpm,
        "rate_tpm": limits.tpm,
        "max_concurrency": limits.max_concurrency,
    }


def _info(row: Any, **changed: Any) -> KeyInfo:
    info = KeyInfo(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        is_admin=row.is_admin,
        is_partner=row.is_partner,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
        balance_nano_usd=row.balance_nano_usd,
        limits=KeyLimits.of_row(row),
    )
    return replace(info, **changed)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


# The largest key id the column holds on every backend (a 32-bit integer).
_MAX_ID = 2**31 - 1
# How many of the keys an ambiguous identifier names are listed in the refusal.
_SHOWN_CANDIDATES = 10


def _candidates(ident: str) -> ColumnElement[bool]:
    """The rows an identifier may name: ``id:N``, ``prefix:P``, ``name:NAME``, a whole
    key, or else a prefix or a name as written (a bare number is never an id)."""
    form, sep, value = ident.partition(":")
    if sep and form == "id":
        if not (value.isascii() and value.isdigit()):
            raise InvalidRequest(f"{ident!r}: write a key id as id:N, e.g. id:7")
        number = int(value)
        return api_keys.c.id == number if number <= _MAX_ID else false()
    if sep and form == "prefix":
        return api_keys.c.prefix == value
    if sep and form == "name":
        return api_keys.c.name == value
    prefix = _split(ident)
    if prefix is not None:
        return api_keys.c.prefix == prefix
    return or_(api_keys.c.prefix == ident, api_keys.c.name == ident)


def _active(key_id: int) -> ColumnElement[bool]:
    return and_(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))


def _describe(row: Any) -> str:
    return f"id:{row.id} (prefix {row.prefix}, name {row.name!r})"


def _gone(row: Any) -> NotFound:
    return NotFound(f"key {_describe(row)} was revoked meanwhile")


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
        limits: KeyLimits | None = None,
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
                    **_limit_values(limits or KeyLimits()),
                )
            )
        return key

    async def set_limits(self, ident: str, limits: KeyLimits, fields: set[str]) -> KeyLimits:
        """Change the named ``fields`` of the rate limits of the one active key ``ident``
        names (see ``_candidates``) and return them all; instances apply them within
        ``auth_cache_ttl_s``."""
        values = {k: v for k, v in _limit_values(limits).items() if _FIELD_OF[k] in fields}
        async with self._engine.begin() as conn:
            row = await self._one_active(conn, ident)
            if values:
                done = await conn.execute(update(api_keys).where(_active(row.id)).values(**values))
                if done.rowcount != 1:
                    raise _gone(row)
            row = (await conn.execute(select(api_keys).where(api_keys.c.id == row.id))).one()
        return KeyLimits.of_row(row) or KeyLimits()

    async def any_limits(self) -> bool:
        """Whether some active key has rate limits of its own."""
        c = api_keys.c
        query = select(c.id).where(
            c.revoked_at.is_(None),
            (c.rate_rpm > 0) | (c.rate_tpm > 0) | (c.max_concurrency > 0),
        )
        async with self._engine.connect() as conn:
            return (await conn.execute(query.limit(1))).first() is not None

    async def find(self, ident: str) -> KeyInfo:
        """The one active key ``ident`` names (see ``_candidates``)."""
        async with self._engine.connect() as conn:
            return _info(await self._one_active(conn, ident))

    async def list(self) -> list[KeyInfo]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(select(api_keys).order_by(api_keys.c.id))
            return [_info(r) for r in rows]

    async def revoke(self, ident: str) -> KeyInfo:
        """Revoke the one active key ``ident`` names (see ``_candidates``)."""
        async with self._engine.begin() as conn:
            row = await self._one_active(conn, ident)
            now = datetime.now(UTC)
            done = await conn.execute(
                update(api_keys).where(_active(row.id)).values(revoked_at=now)
            )
            if done.rowcount != 1:
                raise _gone(row)
        return _info(row, revoked_at=now)

    async def credit(self, ident: str, amount_nano_usd: int) -> KeyInfo:
        """Add credits to the one active key ``ident`` names and return it with its new
        balance. An unlimited key becomes a metered one starting from zero."""
        balance = api_keys.c.balance_nano_usd
        async with self._engine.begin() as conn:
            row = await self._one_active(conn, ident)
            if (row.balance_nano_usd or 0) + amount_nano_usd > MAX_BALANCE_NANO_USD:
                raise InvalidRequest(
                    f"a balance is at most {MAX_BALANCE_NANO_USD} nano-USD (USD 1 billion); "
                    f"key id:{row.id} has {row.balance_nano_usd or 0}"
                )
            limit = MAX_BALANCE_NANO_USD - amount_nano_usd
            new = await conn.scalar(
                update(api_keys)
                .where(_active(row.id), func.coalesce(balance, 0) <= limit)
                .values(balance_nano_usd=func.coalesce(balance, 0) + amount_nano_usd)
                .returning(balance)
            )
            if new is None:
                raise _gone(row)
        return _info(row, balance_nano_usd=int(new))

    async def _one_active(self, conn: AsyncConnection, ident: str) -> Any:
        """The single active key ``ident`` names; an identifier naming none or several
        is refused (the candidates are listed), so a command never acts on a guess."""
        rows = (
            await conn.execute(
                select(api_keys)
                .where(_candidates(ident), api_keys.c.revoked_at.is_(None))
                .order_by(api_keys.c.id)
            )
        ).all()
        if _split(ident) is not None:  # a whole key names its own row only
            rows = [r for r in rows if hmac.compare_digest(r.key_hash, _hash(ident))]
        if not rows:
            raise NotFound(
                f"no active key matches {ident!r}; name a key as id:N, prefix:P, name:NAME "
                "or the whole key (gatewayz keys list shows ids, prefixes and names)"
            )
        if len(rows) > 1:
            shown = ", ".join(_describe(r) for r in rows[:_SHOWN_CANDIDATES])
            more = len(rows) - _SHOWN_CANDIDATES
            shown += f" and {more} more" if more > 0 else ""
            raise InvalidRequest(
                f"{ident!r} matches {len(rows)} active keys: {shown}; name one as id:N or prefix:P"
            )
        return rows[0]

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
        # Lookups under way: requests with the same key that miss the cache together (as
        # all of them do when its entry expires under load) share one database query.
        self._inflight: dict[str, asyncio.Future[Principal]] = {}

    async def authenticate(self, key: str | None) -> Principal:
        if not key:
            raise AuthenticationFailed("missing API key: send 'Authorization: Bearer <key>'")
        digest = _hash(key)
        hit = self._cache.get(digest)
        now = time.monotonic()
        if hit is not None and hit[1] > now:
            return hit[0]
        pending = self._inflight.get(digest)
        if pending is None:
            pending = asyncio.ensure_future(self._lookup(key, digest))
            self._inflight[digest] = pending
            pending.add_done_callback(lambda done: self._finished(digest, done))
        principal = await asyncio.shield(pending)
        if self._ttl > 0:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[digest] = (principal, now + self._ttl)
        return principal

    def forget(self, key_id: int) -> None:
        """Drop the cached principal of key ``key_id`` (revoked here: refused at once)."""
        for digest, (principal, _) in list(self._cache.items()):
            if principal.key_id == key_id:
                self._cache.pop(digest, None)

    def _finished(self, digest: str, done: asyncio.Future[Principal]) -> None:
        self._inflight.pop(digest, None)
        if not done.cancelled():
            done.exception()  # retrieved here too, in case every waiter was cancelled

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
        limits = KeyLimits.of_row(row)
        return Principal(row.id, row.name, row.is_admin, row.is_partner, metered, limits)


def bearer(header: str | None) -> str | None:
    """The key from an ``Authorization: Bearer <key>`` header value."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None
