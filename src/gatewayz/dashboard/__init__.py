"""The web dashboard's services: admin sessions, usage charts, key administration. Its
routes are ``routes/dashboard.py`` (pages) and ``routes/dashboard_api.py`` (JSON); its
pages, script and styles are the files of ``static/``, shipped in the package."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from gatewayz.dashboard.series import UsageSeries
from gatewayz.dashboard.sessions import SessionStore
from gatewayz.services.keys import Authenticator, KeyStore


@dataclass(frozen=True)
class Dashboard:
    sessions: SessionStore
    series: UsageSeries
    keys: KeyStore

    @classmethod
    def build(cls, engine: AsyncEngine, auth: Authenticator) -> Dashboard:
        return cls(SessionStore(engine, auth), UsageSeries(engine), KeyStore(engine))
