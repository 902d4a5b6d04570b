"""ASGI entry point for worker processes: ``uvicorn --factory gatewayz.asgi:create_app``.

The configuration path travels in ``GATEWAYZ_CONFIG``; each worker reads it once here.
"""

from __future__ import annotations

import os

from gatewayz.app import build_app
from gatewayz.config import load_settings
from gatewayz.http.body_deadline import BodyDeadline
from gatewayz.http.requestid import ASGIApp


def create_app() -> ASGIApp:
    return build_app(load_settings(None, os.environ))


def create_granian_app() -> ASGIApp:
    """The app for granian, whose HTTP/1 server has no body timeout of its own."""
    settings = load_settings(None, os.environ)
    return BodyDeadline(build_app(settings), settings.server.body_timeout_s)
