"""The dashboard's pages: the login form, the application page and its files.

The pages are plain HTML; the application page is a shell that ``app.js`` fills from the
JSON routes of ``routes/dashboard_api.py``. Nothing the database holds is ever written into
HTML by the server: the script sets it as text, so a model or key name stays text.
"""

from __future__ import annotations

import html
from functools import cache
from importlib import resources
from string import Template
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from gatewayz.dashboard.guard import (
    COOKIE,
    check_change,
    clear_cookie,
    same_origin,
    secure,
    session_of,
    sessions,
    set_cookie,
)
from gatewayz.errors import AuthenticationFailed, NotFound, PermissionDenied, RateLimited
from gatewayz.http.families import HF, FamilyRoute
from gatewayz.http.requestid import ROUTE_KEY, request_id_of

ASSETS = {"app.js": "text/javascript", "app.css": "text/css", "favicon.svg": "image/svg+xml"}
# An admin key is ~60 characters; a login form is never more than this.
MAX_LOGIN_BYTES = 4_096
HOME = "/dashboard"
LOGIN = "/dashboard/login"


@cache
def _file(name: str) -> bytes:
    return resources.files("gatewayz.dashboard").joinpath("static", name).read_bytes()


def _html(body: str, status: int = 200) -> Response:
    return secure(Response(body, status_code=status, media_type="text/html; charset=utf-8"))


def _login_page(message: str = "", status: int = 200) -> Response:
    page = Template(_file("login.html").decode())
    shown = f'<p class="error" role="alert">{html.escape(message)}</p>' if message else ""
    return _html(page.substitute(message=shown), status)


def _label(request: Request, route: str) -> None:
    request.scope["state"][ROUTE_KEY] = route


async def home(request: Request) -> Response:
    _label(request, "dashboard")
    if await session_of(request) is None:
        return secure(RedirectResponse(LOGIN, status_code=303))
    return _html(_file("index.html").decode())


async def login_form(request: Request) -> Response:
    _label(request, "dashboard_login")
    if await session_of(request) is not None:
        return secure(RedirectResponse(HOME, status_code=303))
    return _login_page()


async def _read_key(request: Request) -> str:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_LOGIN_BYTES:
            raise AuthenticationFailed("the login form is too large")
    values = parse_qs(body.decode("utf-8", "replace"), max_num_fields=4).get("key", [""])
    return values[0].strip()


async def login(request: Request) -> Response:
    _label(request, "dashboard_login")
    rid = request_id_of(request.scope)
    try:
        if not same_origin(request):
            raise PermissionDenied("cross-origin login refused: Origin does not match the host")
        client = request.client.host if request.client else "unknown"
        token, _ = await sessions(request).login(await _read_key(request), client)
    except (AuthenticationFailed, PermissionDenied, RateLimited) as exc:
        page = _login_page(f"{exc.message} (request id {rid})", exc.status)
        if isinstance(exc, RateLimited):
            page.headers["Retry-After"] = exc.retry_after
        return page
    except ValueError:  # parse_qs refusing more fields than a login form has
        return _login_page(f"the login form is malformed (request id {rid})", 400)
    response = secure(RedirectResponse(HOME, status_code=303))
    set_cookie(request, response, token)
    return response


async def logout(request: Request) -> Response:
    """End the session (CSRF-checked like every change) and clear the cookie."""
    _label(request, "dashboard_logout")
    session = await session_of(request)
    if session is None:
        raise AuthenticationFailed("no dashboard session")
    check_change(request, session)
    await sessions(request).logout(request.cookies[COOKIE])
    response = secure(Response(status_code=204))
    clear_cookie(request, response)
    return response


async def asset(request: Request) -> Response:
    _label(request, "dashboard_asset")
    name = request.path_params["name"]
    media = ASSETS.get(name)
    if media is None:
        raise NotFound(f"no dashboard file {name!r}")
    response = secure(Response(_file(name), media_type=media))
    response.headers["Cache-Control"] = "no-cache"
    return response


# HTML pages, a form post and assets: not part of the API document.
ROUTES = [
    FamilyRoute(HOME, home, family=HF, methods=["GET"], include_in_schema=False),
    FamilyRoute(LOGIN, login_form, family=HF, methods=["GET"], include_in_schema=False),
    FamilyRoute(LOGIN, login, family=HF, methods=["POST"], include_in_schema=False),
    FamilyRoute("/dashboard/logout", logout, family=HF, methods=["POST"], include_in_schema=False),
    FamilyRoute(
        "/dashboard/assets/{name}", asset, family=HF, methods=["GET"], include_in_schema=False
    ),
]
