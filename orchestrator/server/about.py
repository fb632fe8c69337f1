"""`GET /version`: which lmc and which API version this server is, so a client can refuse a mismatch.

    GET /version   {"lmc": "0.1.0", "api": 1}

Behind the token like every route: a client learns from one request that the server answers,
that it takes the token, and that it speaks the client's API.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from orchestrator.server.wire import API_VERSION


def lmc_version() -> str:
    """The installed lmc distribution's version ("unknown" when run from a tree that is not installed)."""
    try:
        return version("lmc")
    except PackageNotFoundError:
        return "unknown"


async def about(request: Request) -> Response:
    """This server's lmc version and API version."""
    return JSONResponse({"lmc": lmc_version(), "api": API_VERSION})


def routes() -> list[BaseRoute]:
    """The version route."""
    return [Route("/version", about, methods=["GET"])]
