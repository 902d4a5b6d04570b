"""Building the application: services are created once here and handed to the routes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from gatewayz import __version__
from gatewayz.config import Settings
from gatewayz.dashboard import Dashboard
from gatewayz.db.engine import create_engine
from gatewayz.heap import settle_heap
from gatewayz.http.dispatch import FixedRoutes, as_handlers
from gatewayz.http.errors import EXCEPTION_HANDLERS, CrashBoundary
from gatewayz.http.families import family_of_unrouted
from gatewayz.http.metrics_listener import MetricsListener
from gatewayz.http.requestid import ASGIApp, RequestIdMiddleware
from gatewayz.openapi.document import ApiDocument
from gatewayz.redact import RedactingFilter, Redactor
from gatewayz.routes import ROUTES
from gatewayz.routing.health import RouteHealth
from gatewayz.services.billing import BillingService
from gatewayz.services.credits import CreditGuard
from gatewayz.services.deployment import deployment_id
from gatewayz.services.in_flight import InFlight
from gatewayz.services.inference import InferenceService
from gatewayz.services.keys import Authenticator
from gatewayz.services.ledger import UsageLedger
from gatewayz.services.limits import RateLimiter, build_limiter
from gatewayz.services.metrics import MULTIPROC_ENV, Metrics
from gatewayz.services.preload import Preloader, eager_jobs
from gatewayz.services.registry import Registry
from gatewayz.services.route_probe import RouteProbe
from gatewayz.services.usage import UsageQueries
from gatewayz.upstreams.base import Upstream
from gatewayz.upstreams.registry import build_upstream, provider_tasks

log = logging.getLogger("gatewayz")


# Loggers outside the gateway's own that may write an exception's text: the servers'
# (an exception that escapes the app) and asyncio's (one that escapes a task).
SERVER_LOGGERS = ("uvicorn.error", "_granian", "asyncio")


def configure_logging(level: str, redactor: Redactor) -> None:
    """The gateway's own log lines (errors with their request id, the access log) go to
    stderr at ``level``, handler set up once per process; every line the gateway or its
    server logs is redacted first (secrets, credential-shaped text)."""
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        log.addHandler(handler)
        log.propagate = False
    log.setLevel(level.upper())
    redacting = RedactingFilter(redactor)
    for filtered in (*log.handlers, *map(logging.getLogger, SERVER_LOGGERS)):
        for old in [f for f in filtered.filters if isinstance(f, RedactingFilter)]:
            filtered.removeFilter(old)
        filtered.addFilter(redacting)


def secrets_of(settings: Settings) -> Redactor:
    """The redactor for this process: it knows every secret the settings hold (the
    providers' keys, and a password in the database URL)."""
    password = urlsplit(settings.database_url).password
    return Redactor(
        [*(p.api_key for p in settings.providers), password, password and unquote(password)]
    )


@dataclass(frozen=True)
class Gateway:
    """Everything a route may use; one per process, on ``app.state.gateway``."""

    settings: Settings
    engine: AsyncEngine
    auth: Authenticator
    # The models served: the database-backed catalog, with its write operations.
    registry: Registry
    inference: InferenceService
    ledger: UsageLedger
    credits: CreditGuard
    billing: BillingService
    usage: UsageQueries
    metrics: Metrics
    limiter: RateLimiter
    upstreams: dict[str, Upstream]
    preloader: Preloader  # the embedded models marked eager; /ready waits for them
    dashboard: Dashboard  # its sessions, charts and key administration


def build_gateway(settings: Settings, redactor: Redactor) -> Gateway:
    engine = create_engine(settings.database_url)
    metrics = Metrics(os.environ.get(MULTIPROC_ENV))
    upstreams = {p.name: build_upstream(p, redactor) for p in settings.providers}
    registry = Registry(
        engine,
        settings.models,
        provider_tasks(settings),
        defaults=settings.default_models,
        refresh_interval_s=settings.registry_refresh_s,
        probe=RouteProbe(settings.providers),
        origin=settings.origin,
    )
    in_flight = InFlight()
    ledger = UsageLedger(engine, settings.spool_directory, in_flight)
    credits = CreditGuard(engine)
    limiter = build_limiter(settings, metrics, lambda: deployment_id(engine))
    health = RouteHealth(
        settings.routing,
        metrics.registry,
        public=frozenset(p.name for p in settings.providers if p.public),
    )
    metrics.before_render(health.export)
    auth = Authenticator(engine, cache_ttl_s=settings.auth_cache_ttl_s)
    return Gateway(
        settings=settings,
        engine=engine,
        auth=auth,
        registry=registry,
        inference=InferenceService(registry, upstreams, ledger, metrics, credits, limiter, health),
        ledger=ledger,
        credits=credits,
        billing=BillingService(engine, registry, ledger.flush),
        usage=UsageQueries(engine, ledger.flush),
        metrics=metrics,
        limiter=limiter,
        upstreams=upstreams,
        preloader=Preloader(eager_jobs(settings, upstreams)),
        dashboard=Dashboard.build(engine, auth),
    )


def metrics_listener(gateway: Gateway) -> MetricsListener | None:
    """The separate metrics listener, if ``metrics.listen`` asks for one."""
    config = gateway.settings.metrics
    if config.address is None:
        return None
    host, port = config.address
    authorize = gateway.auth.admin if config.require_admin_key else None
    return MetricsListener(
        host, port, gateway.metrics.render, authorize, shared=gateway.metrics.shared
    )


def build_app(settings: Settings) -> ASGIApp:
    redactor = secrets_of(settings)
    configure_logging(settings.log_level, redactor)
    gateway = build_gateway(settings, redactor)
    listener = metrics_listener(gateway)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        for upstream in gateway.upstreams.values():
            await upstream.start()
        await gateway.ledger.start()
        await gateway.limiter.start()
        await gateway.registry.start()
        gateway.preloader.start()
        sweeper = asyncio.create_task(gateway.credits.run_sweeper(), name="credit-sweeper")
        if listener is not None:
            await listener.start()
        settle_heap()
        try:
            yield
        finally:
            if listener is not None:
                await listener.close()
            sweeper.cancel()
            await gateway.preloader.close()
            await gateway.registry.close()
            await gateway.limiter.close()
            await gateway.ledger.close()
            await gateway.credits.close()
            for upstream in gateway.upstreams.values():
                await upstream.close()
            await gateway.engine.dispose()

    app = Starlette(routes=ROUTES, exception_handlers=EXCEPTION_HANDLERS, lifespan=lifespan)
    app.state.gateway = gateway
    app.state.api_document = ApiDocument(app.routes, __version__)
    routed = FixedRoutes(app, ROUTES, as_handlers(EXCEPTION_HANDLERS))
    return RequestIdMiddleware(
        CrashBoundary(routed),
        gateway.metrics,
        family_of_unrouted,
        access_log=settings.access_log,
        in_flight=gateway.ledger.in_flight,
    )
