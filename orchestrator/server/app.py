"""The ASGI app of `lmc serve`: the routes behind the guard, errors as JSON bodies, the idle reaper."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from lmc.errors import LMCError
from orchestrator.server import about, computers, console, conversations, liveview, oi
from orchestrator.server.config import ServerConfig
from orchestrator.server.desktop import Desktops
from orchestrator.server.endpoint import reported
from orchestrator.server.errors import BadRequest, NotFound, ServerError, to_body
from orchestrator.server.guard import Guard
from orchestrator.server.registry import Registry
from orchestrator.server.state import InProcess, ServerState
from orchestrator.server.tokens import Tokens
from orchestrator.settings import Settings

log = logging.getLogger(__name__)

#: the paths whose body is a file upload (the larger limit applies)
UPLOAD = re.compile(r"^/computers/[^/]+/files/.+")
#: how often the reaper looks for idle computers and conversations, at most
REAP_EVERY = 1.0


def error_response(exc: ServerError) -> Response:
    """The JSON response of an error."""
    return JSONResponse(to_body(exc), status_code=exc.status)


async def _on_error(request: Request, exc: Exception) -> Response:
    return error_response(reported(exc))


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return error_response(NotFound(f"no route {request.method} {request.url.path}; "
                                       "the routes are listed in the README's lmc serve section"))
    if exc.status_code == 405:
        return JSONResponse({"error": "method_not_allowed", "message":
                             f"{request.url.path} does not take {request.method}"}, status_code=405)
    return error_response(BadRequest(str(exc.detail)))


async def _close_all(registry: Registry[Any], close: Callable[[Any], None], entries: list[Any]) -> None:
    for entry in entries:
        log.info("closing %s %s", registry.kind, entry.id)
        try:
            await asyncio.to_thread(close, entry.item)
        except Exception:
            log.exception("closing %s %s failed", registry.kind, entry.id)


def _closers(server: ServerState) -> list[tuple[Registry[Any], Callable[[Any], None]]]:
    return [(server.computers, computers.close_computer), (server.conversations, lambda c: c.close())]


async def _reap(server: ServerState) -> None:
    """Close what has been idle past its timeout, forever."""
    every = min(REAP_EVERY, server.config.idle_timeout / 4)
    while True:
        await asyncio.sleep(every)
        if server.tick is not None:
            try:
                await asyncio.to_thread(server.tick)
            except Exception:  # a failed round must not end the reaping
                log.exception("the reaper's round failed")
        for registry, close in _closers(server):
            await _close_all(registry, close, registry.expired())


def create_app(config: ServerConfig, tokens: Tokens, settings: Settings,
               extra_routes: Sequence[BaseRoute] = ()) -> Starlette:
    """The app: every route needs one of `tokens` (but the console's static files); new conversations
    start from `settings`; `extra_routes` are a plug-in's (the benchmark viewer's), behind the same guard."""
    if config.ray:
        from orchestrator.server.cluster import ray_state

        server = ray_state(config, tokens, settings)
    else:
        server = ServerState(config, tokens, settings, hosting=InProcess(Desktops(limit=config.max_desktops)))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        reaper = asyncio.create_task(_reap(server))
        try:
            yield
        finally:
            reaper.cancel()
            for registry, close in _closers(server):
                await _close_all(registry, close, registry.drain())

    app = Starlette(
        routes=[*about.routes(), *computers.routes(), *conversations.routes(), *liveview.routes(), *oi.routes(),
                *console.routes(),
                *extra_routes],
        exception_handlers={Exception: _on_error, HTTPException: _on_http, LMCError: _on_error},
        lifespan=lifespan,
    )
    app.state.lmc = server
    app.add_middleware(Guard, tokens=tokens, config=config, upload_path=lambda path: bool(UPLOAD.match(path)),
                       public=console.PUBLIC, public_prefixes=console.PUBLIC_PREFIXES)
    return app
