"""Dashboard sessions, kept in the database (table ``dashboard_sessions``).

Logging in with an admin key makes a session: a random token for the cookie (only its
SHA-256 is stored) and a CSRF token the page sends back with every change. A session is
valid while it has not expired, has not been logged out, and its key is still an active
admin key: revoking the key ends its sessions at once, on every instance.

Failed logins are counted per client address; past ``MAX_FAILURES`` in ``FAILURE_WINDOW_S``
the address is refused (429) until the window passes. Every failure says the same thing,
so the answer never tells a valid standard key from a revoked or unknown one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from gatewayz.db.tables import api_keys, dashboard_sessions
from gatewayz.errors import AuthenticationFailed, RateLimited
from gatewayz.services.keys import Authenticator, Principal

SESSION_TTL = timedelta(hours=8)
MAX_FAILURES = 10
FAILURE_WINDOW_S = 300.0
# Addresses remembered at most (an attacker cycling addresses cannot grow this unbounded).
_MAX_ADDRESSES = 10_000
LOGIN_REFUSED = "this is not an active admin API key"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Session:
    principal: Principal
    csrf_token: str
    expires_at: datetime


class LoginThrottle:
    """Failed logins per client address in a sliding window."""

    def __init__(self, max_failures: int = MAX_FAILURES, window_s: float = FAILURE_WINDOW_S):
        self._max = max_failures
        self._window = window_s
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, address: str, now: float) -> deque[float]:
        times = self._failures.get(address, deque())
        while times and times[0] <= now - self._window:
            times.popleft()
        return times

    def check(self, address: str) -> None:
        now = time.monotonic()
        times = self._recent(address, now)
        if len(times) >= self._max:
            wait = max(1, int(times[0] + self._window - now) + 1)
            raise RateLimited(
                f"too many failed logins from this address; try again in {wait} s",
                retry_after_s=wait,
            )

    def failed(self, address: str) -> None:
        now = time.monotonic()
        if len(self._failures) >= _MAX_ADDRESSES and address not in self._failures:
            self._failures.clear()
        times = self._recent(address, now)
        times.append(now)
        self._failures[address] = times


class SessionStore:
    def __init__(self, engine: AsyncEngine, auth: Authenticator) -> None:
        self._engine = engine
        self._auth = auth
        self.throttle = LoginThrottle()

    async def login(self, key: str, address: str) -> tuple[str, Session]:
        """A new session for the admin ``key``: its cookie token and the session."""
        self.throttle.check(address)
        try:
            principal = await self._auth.authenticate(key)
        except AuthenticationFailed:
            principal = None
        if principal is None or not principal.is_admin:
            self.throttle.failed(address)
            raise AuthenticationFailed(LOGIN_REFUSED)
        token = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        session = Session(principal, secrets.token_urlsafe(32), now + SESSION_TTL)
        async with self._engine.begin() as conn:
            # Sessions past their time are of no use to anyone: each login clears them.
            await conn.execute(
                delete(dashboard_sessions).where(dashboard_sessions.c.expires_at < now)
            )
            await conn.execute(
                insert(dashboard_sessions).values(
                    token_hash=_hash(token),
                    api_key_id=principal.key_id,
                    csrf_token=session.csrf_token,
                    created_at=now,
                    expires_at=session.expires_at,
                )
            )
        return token, session

    async def find(self, token: str | None) -> Session | None:
        """The live session of a cookie token, or None."""
        if not token or len(token) > 200:
            return None
        s, k = dashboard_sessions.c, api_keys.c
        query = (
            select(s.csrf_token, s.expires_at, k.id, k.name, k.is_partner)
            .join(api_keys, k.id == s.api_key_id)
            .where(
                s.token_hash == _hash(token),
                s.revoked_at.is_(None),
                s.expires_at > datetime.now(UTC),
                k.revoked_at.is_(None),
                k.is_admin.is_(True),
            )
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        principal = Principal(row.id, row.name, True, row.is_partner)
        expires = row.expires_at
        expires = expires.replace(tzinfo=UTC) if expires.tzinfo is None else expires
        return Session(principal, row.csrf_token, expires)

    async def logout(self, token: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                update(dashboard_sessions)
                .where(dashboard_sessions.c.token_hash == _hash(token))
                .values(revoked_at=datetime.now(UTC))
            )

    @staticmethod
    def csrf_matches(session: Session, sent: str | None) -> bool:
        return sent is not None and hmac.compare_digest(session.csrf_token, sent)
