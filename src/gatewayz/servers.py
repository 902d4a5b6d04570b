"""The ASGI servers ``gatewayz serve`` can run the app on.

Both run the same app with the same event loop (uvloop). Worker processes build their
app from ``gatewayz.asgi:create_app``, which reads the configuration named by
``GATEWAYZ_CONFIG``; a single uvicorn process is handed the app already built.

uvicorn runs ``gatewayz.http.protocol``'s protocol, which adds the header, body and idle
timeouts and the connection caps of ``Settings.server``; granian gets its own header read
timeout and the app-level body deadline (it has no connection cap: see
docs/CONFIGURATION.md).
"""

from __future__ import annotations

import contextlib
import logging
import os
import resource
import sys
import tempfile
from typing import Literal

from gatewayz.config import ServerSettings, Settings
from gatewayz.services.metrics import MULTIPROC_ENV

log = logging.getLogger("gatewayz.connections")

Server = Literal["uvicorn", "granian"]
SERVERS: tuple[Server, ...] = ("uvicorn", "granian")
# Chosen by bench/run.py on the 2-core reference machine: with the same app, uvicorn
# (httptools + uvloop) used less CPU per request than granian (Rust HTTP, Python app on
# the other side of a thread hand-off) and added less latency at one connection.
DEFAULT_SERVER: Server = "uvicorn"
FACTORY = "gatewayz.asgi:create_app"
GRANIAN_FACTORY = "gatewayz.asgi:create_granian_app"


def raise_file_limit() -> int:
    """Raise this process's soft limit on open files to its hard limit (worker processes
    inherit it) and return the soft limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):  # e.g. macOS refuses an infinite soft limit
            pass
    return soft


def connection_cap(limits: ServerSettings, file_limit: int) -> int:
    """``max_connections``, or half the file limit if that is lower: the other half is left
    for upstream connections, the database and the process's own files."""
    if file_limit == resource.RLIM_INFINITY or limits.max_connections <= file_limit // 2:
        return limits.max_connections
    cap = max(1, file_limit // 2)
    log.warning(
        "server.max_connections %d lowered to %d, half of this process's limit of %d open files",
        limits.max_connections,
        cap,
        file_limit,
    )
    return cap


def _export_config(config_path: str | None) -> None:
    """Tell worker processes which configuration file to read."""
    if config_path:
        os.environ["GATEWAYZ_CONFIG"] = os.path.abspath(config_path)


def _share_metrics(workers: int) -> None:
    """Several workers write their metrics to one directory, so that ``/metrics`` on any of
    them reports the whole server (prometheus_client's multiprocess mode)."""
    if workers > 1 and MULTIPROC_ENV not in os.environ:
        os.environ[MULTIPROC_ENV] = tempfile.mkdtemp(prefix="gatewayz-metrics-")


def run_uvicorn(
    settings: Settings, config_path: str | None, host: str, port: int, workers: int
) -> None:
    # What uvicorn.run does, with a config that carries the connection guard.
    from uvicorn import Server
    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors import Multiprocess

    from gatewayz.http.protocol import ConnectionGuard, GuardedConfig

    guard = ConnectionGuard(settings.server, connection_cap(settings.server, raise_file_limit()))
    common: dict[str, object] = dict(
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        log_level=settings.log_level,
        access_log=False,
        server_header=False,
        # Nothing reads the client address, so uvicorn's X-Forwarded-For layer is skipped.
        proxy_headers=False,
    )
    if workers > 1:
        _export_config(config_path)
        _share_metrics(workers)
        config = GuardedConfig(FACTORY, guard=guard, factory=True, **common)
        with contextlib.suppress(KeyboardInterrupt):
            Multiprocess(config, sockets=[config.bind_socket()]).run()
        return
    from gatewayz.app import build_app

    server = Server(GuardedConfig(build_app(settings), guard=guard, **common))
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)


def run_granian(
    settings: Settings, config_path: str | None, host: str, port: int, workers: int
) -> None:
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces, Loops
    from granian.http import HTTP1Settings
    from granian.log import LogLevels

    raise_file_limit()
    _export_config(config_path)
    _share_metrics(workers)
    limits = settings.server
    Granian(
        GRANIAN_FACTORY,
        factory=True,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=workers,
        loop=Loops.uvloop,
        http=HTTPModes.http1,
        http1_settings=HTTP1Settings(header_read_timeout=round(limits.header_timeout_s * 1000)),
        websockets=False,
        log_level=LogLevels(settings.log_level),
        log_access=False,
    ).serve()


def run_server(
    server: Server, settings: Settings, config_path: str | None, host: str, port: int, workers: int
) -> None:
    """Serve until stopped (Ctrl-C or SIGTERM)."""
    runner = run_granian if server == "granian" else run_uvicorn
    runner(settings, config_path, host, port, workers)
