"""The web console: three static files (no build step, nothing fetched from elsewhere) at /console.

    GET /console            the page (log in with a token, sessions, benchmarks)
    GET /console/app.js     its script
    GET /console/style.css  its style

A browser cannot set headers on a page load, so these three files and noVNC's modules (under
`NOVNC`, for the live desktop view) are the only routes the guard lets through without a token
(`PUBLIC`, `PUBLIC_PREFIXES`): they hold no data. The page keeps the token the user
types in sessionStorage (gone when the tab closes, never in a URL, where logs would keep it) and
sends it as `Authorization: Bearer` on every fetch; it streams with fetch too (SSE bodies read as
they come), and the desktop view's WebSocket carries the token as a subprotocol, so no token is ever
in a query string. The Content-Security-Policy
lets the page load and talk only to this server, with no inline script.
"""

from __future__ import annotations

from importlib.resources import files

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

#: path -> (file of this package, media type)
FILES = {
    "/console": ("index.html", "text/html; charset=utf-8"),
    "/console/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/console/style.css": ("style.css", "text/css; charset=utf-8"),
}
#: the only paths served without a token: the console's static files
PUBLIC = frozenset(FILES)
#: where noVNC's modules are served (from Debian's novnc package, when installed; see liveview.py)
NOVNC = "/console/novnc/"
#: path prefixes served without a token: library code, no data
PUBLIC_PREFIXES = (NOVNC,)
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
                               "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
                               "base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


async def static(request: Request) -> Response:
    """One of the console's files."""
    name, media = FILES[request.url.path]
    return Response(files(__name__).joinpath(name).read_bytes(), media_type=media, headers=HEADERS)


def routes() -> list[BaseRoute]:
    """The console's routes."""
    return [Route(path, static, methods=["GET"]) for path in FILES]
