"""The ASGI servers ``gatewayz serve`` can run the app on.

Both run the same app with the same event loop (uvloop). Worker processes build their
app from ``gatewayz.asgi:create_app``, which reads the configuration named by
``GATEWAYZ_CONFIG``; a single uvicorn process is handed the app already built.
"""

from __future__ import annotations

import os
import tempfile
from typing import Literal

from gatewayz.config import Settings
from gatewayz.services.metrics import MULTIPROC_ENV

Server = Literal["uvicorn", "granian"]
SERVERS: tuple[Server, ...] = ("uvicorn", "granian")
# Chosen by bench/run.py on the 2-core reference machine: with the same app, uvicorn
# (httptools + uvloop) used less CPU per request than granian (Rust HTTP, Python app on
# the other side of a thread hand-off) and added less latency at one connection.
DEFAULT_SERVER: Server = "uvicorn"
FACTORY = "gatewayz.asgi:create_app"
KEEP_ALIVE_S = 30


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
    import uvicorn

    common: dict[str, object] = dict(
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        log_level=settings.log_level,
        access_log=False,
        server_header=False,
        # Nothing reads the client address, so uvicorn's X-Forwarded-For layer is skipped.
        proxy_headers=False,
        timeout_keep_alive=KEEP_ALIVE_S,
    )
    if workers > 1:
        _export_config(config_path)
        _share_metrics(workers)
        uvicorn.run(FACTORY, factory=True, workers=workers, **common)  # type: ignore[arg-type]
    else:
        from gatewayz.app import build_app

        uvicorn.run(build_app(settings), **common)  # type: ignore[arg-type]


def run_granian(
    settings: Settings, config_path: str | None, host: str, port: int, workers: int
) -> None:
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces, Loops
    from granian.log import LogLevels

    _export_config(config_path)
    _share_metrics(workers)
    Granian(
        FACTORY,
        factory=True,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=workers,
        loop=Loops.uvloop,
        http=HTTPModes.http1,
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
