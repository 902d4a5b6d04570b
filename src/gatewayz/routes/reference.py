"""``GET /openapi.json`` (the API document, built once from the app's routes) and the
interactive reference page ``GET /docs``: Swagger UI, whose files come with the installed
packages and are served from ``/docs/assets/``, so the page works offline. Nothing is
fetched from elsewhere; the page's Content-Security-Policy says so to the browser."""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from gatewayz.errors import NotFound
from gatewayz.http.api import Api
from gatewayz.http.families import HF, FamilyRoute
from gatewayz.http.requestid import ROUTE_KEY
from gatewayz.openapi.document import ApiDocument
from gatewayz.routes.common import reject_nul

STATIC = resources.files("gatewayz.openapi") / "static"
# The page runs only its own scripts and talks only to this gateway.
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": DOCS_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
OPENAPI: Api[Any] = Api(
    "This API document (OpenAPI 3.1)", "Operations", answer=dict[str, Any], auth="none"
)


def _swagger_ui() -> Path:
    from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

    return Path(str(swagger_ui_path))


@functools.cache
def _assets() -> dict[str, tuple[bytes, str]]:
    """The page's files by name: Swagger UI's, and ours."""
    ui = _swagger_ui()
    return {
        "swagger-ui-bundle.js": ((ui / "swagger-ui-bundle.js").read_bytes(), "text/javascript"),
        "swagger-ui.css": ((ui / "swagger-ui.css").read_bytes(), "text/css"),
        "favicon-32x32.png": ((ui / "favicon-32x32.png").read_bytes(), "image/png"),
        "init.js": ((STATIC / "init.js").read_bytes(), "text/javascript"),
    }


@functools.cache
def _page() -> bytes:
    return (STATIC / "docs.html").read_bytes()


async def openapi_json(request: Request) -> Response:
    request.scope["state"][ROUTE_KEY] = "openapi"
    api_document: ApiDocument = request.app.state.api_document
    return Response(await api_document.json(), media_type="application/json")


async def docs(request: Request) -> Response:
    request.scope["state"][ROUTE_KEY] = "docs"
    page = _page()
    return Response(page, media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)


async def asset(request: Request) -> Response:
    request.scope["state"][ROUTE_KEY] = "docs_asset"
    reject_nul(request)
    found = _assets().get(request.path_params["name"])
    if found is None:
        raise NotFound("no such file of the reference page")
    body, media_type = found
    headers = {**PAGE_HEADERS, "Cache-Control": "public, max-age=86400"}
    return Response(body, media_type=media_type, headers=headers)


ROUTES = [
    FamilyRoute("/openapi.json", openapi_json, family=HF, methods=["GET"], api=OPENAPI),
    FamilyRoute("/docs", docs, family=HF, methods=["GET"], include_in_schema=False),
    FamilyRoute("/docs/assets/{name}", asset, family=HF, methods=["GET"], include_in_schema=False),
]
