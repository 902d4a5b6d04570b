"""What stands in front of every dashboard request: the session cookie, the CSRF checks
for changes, and the security headers of every page.

A change (any method but GET/HEAD) must come from the dashboard's own origin (``Origin``,
else ``Referer``, naming the host the request was sent to) and carry the session's CSRF
token in ``X-CSRF-Token``; the cookie alone is never enough.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from gatewayz.dashboard.sessions import SESSION_TTL, Session
from gatewayz.errors import AuthenticationFailed, PermissionDenied
from gatewayz.routes.common import SESSION_PRINCIPAL_KEY, gateway

if TYPE_CHECKING:
    from gatewayz.dashboard.sessions import SessionStore

COOKIE = "gatewayz_session"
COOKIE_PATH = "/dashboard"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD"})
SESSION_KEY = "gatewayz.dashboard_session"

# No inline script or style anywhere: every script and stylesheet is a file of the package.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

Handler = Callable[[Request], Awaitable[Response]]


def secure(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    return response


def sessions(request: Request) -> SessionStore:
    return gateway(request).dashboard.sessions


def same_origin(request: Request) -> bool:
    """Whether the request says it comes from a page of this host (``Origin``, or failing
    that ``Referer``); a request that says neither is refused."""
    claimed = request.headers.get("origin") or request.headers.get("referer")
    if not claimed or claimed == "null":
        return False
    parts = urlsplit(claimed)
    host = request.headers.get("host")
    return bool(host) and parts.scheme in ("http", "https") and parts.netloc == host


def set_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(SESSION_TTL.total_seconds()),
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def clear_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        COOKIE,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


async def session_of(request: Request) -> Session | None:
    return await sessions(request).find(request.cookies.get(COOKIE))


def current_session(request: Request) -> Session:
    """The session ``with_session`` found for this request."""
    session: Session = request.scope["state"][SESSION_KEY]
    return session


def check_change(request: Request, session: Session) -> None:
    """A state change needs this origin and the session's CSRF token."""
    if not same_origin(request):
        raise PermissionDenied("cross-origin request refused: Origin does not match the host")
    if not sessions(request).csrf_matches(session, request.headers.get(CSRF_HEADER)):
        raise PermissionDenied("missing or wrong CSRF token (X-CSRF-Token)")


def with_session(handler: Handler) -> Handler:
    """An API route of the dashboard: its admin is the session's (401 without one), and a
    change is checked for CSRF; the route's own code then runs as for an admin key."""

    async def guarded(request: Request) -> Response:
        session = await session_of(request)
        if session is None:
            raise AuthenticationFailed("log in to the dashboard first (/dashboard/login)")
        if request.method not in SAFE_METHODS:
            check_change(request, session)
        request.scope["state"][SESSION_PRINCIPAL_KEY] = session.principal
        request.scope["state"][SESSION_KEY] = session
        return secure(await handler(request))

    guarded.__name__ = handler.__name__
    guarded.__doc__ = handler.__doc__
    return guarded
