"""Building the application: services are created once here and handed to the routes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from gatewayz.config import Settings
from gatewayz.db.engine import create_engine
from gatewayz.http.errors import EXCEPTION_HANDLERS
from gatewayz.http.requestid import ASGIApp, RequestIdMiddleware
from gatewayz.routes import ROUTES
from gatewayz.services.billing import BillingService
from gatewayz.services.catalog import Catalog
from gatewayz.services.credits import CreditGuard
from gatewayz.services.inference import InferenceService
from gatewayz.services.keys import Authenticator
from gatewayz.services.ledger import UsageLedger
from gatewayz.services.metrics import MULTIPROC_ENV, Metrics
from gatewayz.services.registry import Registry
from gatewayz.services.usage import UsageQueries
from gatewayz.upstreams.base import Upstream
from gatewayz.upstreams.registry import build_upstream

log = logging.getLogger("gatewayz")


def configure_logging(level: str) -> None:
    """The gateway's own log lines (errors with their request id, the access log) go to
    stderr at ``level``; once per process."""
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        log.addHandler(handler)
        log.propagate = False
    log.setLevel(level.upper())


@dataclass(frozen=True)
class Gateway:
    """Everything a route may use; one per process, on ``app.state.gateway``."""

    settings: Settings
    engine: AsyncEngine
    auth: Authenticator
    catalog: Catalog
    inference: InferenceService
    ledger: UsageLedger
    credits: CreditGuard
    billing: BillingService
    usage: UsageQueries
    metrics: Metrics
    upstreams: dict[str, Upstream]
    registry: Registry  # the same object as ``catalog``, with the write operations


def build_gateway(settings: Settings) -> Gateway:
    engine = create_engine(settings.database_url)
    metrics = Metrics(os.environ.get(MULTIPROC_ENV))
    upstreams = {p.name: build_upstream(p) for p in settings.providers}
    catalog = Registry(
        engine,
        settings.models,
        {n: u.tasks for n, u in upstreams.items()},
        defaults=settings.default_models,
        refresh_interval_s=settings.registry_refresh_s,
    )
    ledger = UsageLedger(engine)
    credits = CreditGuard(engine)
    return Gateway(
        settings=settings,
        engine=engine,
        auth=Authenticator(engine, cache_ttl_s=settings.auth_cache_ttl_s),
        catalog=catalog,
        inference=InferenceService(catalog, upstreams, ledger, metrics, credits),
        ledger=ledger,
        credits=credits,
        billing=BillingService(engine, catalog),
        usage=UsageQueries(engine),
        metrics=metrics,
        upstreams=upstreams,
        registry=catalog,
    )


def build_app(settings: Settings) -> ASGIApp:
    configure_logging(settings.log_level)
    gateway = build_gateway(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        for upstream in gateway.upstreams.values():
            await upstream.start()
        gateway.ledger.start()
        await gateway.registry.start()
        sweeper = asyncio.create_task(gateway.credits.run_sweeper(), name="credit-sweeper")
        try:
            yield
        finally:
            sweeper.cancel()
            await gateway.registry.close()
            await gateway.ledger.close()
            await gateway.credits.close()
            for upstream in gateway.upstreams.values():
                await upstream.close()
            await gateway.engine.dispose()

    app = Starlette(routes=ROUTES, exception_handlers=EXCEPTION_HANDLERS, lifespan=lifespan)
    app.state.gateway = gateway
    return RequestIdMiddleware(app, gateway.metrics, access_log=settings.access_log)
