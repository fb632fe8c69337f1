"""The live view of a session's desktop: VNC bridged over a WebSocket, or a screenshot stream.

    GET /{computers|conversations}/{id}/desktop             display, size, vnc (bool), fallback (why not);
                                                             on serve --ray also node (the device actor's)
    GET /{computers|conversations}/{id}/desktop/screenshot  the screen now, PNG (the fallback stream)
    WS  /{computers|conversations}/{id}/desktop/vnc         RFB in binary frames, both ways
    GET /console/novnc/{path}                                noVNC's modules, from Debian's novnc package

The WebSocket does in-process what websockify does: each binary frame from the client goes to
x11vnc's unix socket, and whatever x11vnc sends comes back as binary frames; no port is opened
besides the server's own. It stands behind the guard like every route: a token (header, or for a
browser, which cannot set headers on a WebSocket, the subprotocol `lmc.token.<base64url token>`
next to `binary`) and the Origin check. Take-over is the viewer's choice: the console connects
view-only and sends input only after "Take over". On `lmc serve --ray` a desktop is a device actor's,
whose x11vnc socket (if any) is on another node: the view is the screenshot stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket

from orchestrator.server.console import HEADERS, NOVNC
from orchestrator.server.desktop import DesktopView, desktop_of
from orchestrator.server.endpoint import owner
from orchestrator.server.errors import BackendFailed, NotFound, ServerError
from orchestrator.server.guard import refuse
from orchestrator.server.state import state

log = logging.getLogger(__name__)

#: bytes read from x11vnc at a time (one WebSocket frame at most)
READ = 256 * 1024
#: the only noVNC folders the console needs (its RFB client and its inflate library)
NOVNC_FOLDERS = ("core/", "vendor/")


def _desktop(connection: Request | WebSocket) -> DesktopView:
    kind = connection.url.path.split("/")[1]
    server = state(connection)
    registry = server.computers if kind == "computers" else server.conversations
    entry = registry.get(owner(connection), connection.path_params["id"])
    return desktop_of(entry.item, registry.kind, entry.id)


async def info(request: Request) -> Response:
    """The desktop's display and size, whether VNC serves it, whether the console can show it that way."""
    desktop = _desktop(request)
    body = await asyncio.to_thread(desktop.info)  # a device actor's desktop answers through Ray
    novnc = novnc_dir(request)
    if body["fallback"] is None and novnc is None:
        body["fallback"] = "noVNC is not installed on the server (apt-get install novnc)"
    body["novnc"] = novnc is not None
    return JSONResponse(body)


async def screenshot(request: Request) -> Response:
    """The screen now, as PNG."""
    desktop = _desktop(request)
    png = await asyncio.to_thread(desktop.screenshot_png)
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})


async def vnc(websocket: WebSocket) -> None:
    """Bridge the WebSocket to the desktop's x11vnc: RFB both ways, in binary frames."""
    try:
        desktop = _desktop(websocket)
        if desktop.vnc is None or not desktop.vnc.alive():
            raise NotFound(f"this desktop has no VNC server ({desktop.fallback or 'x11vnc exited'}); "
                           "GET .../desktop/screenshot shows it instead")
        try:
            reader, writer = await asyncio.open_unix_connection(str(desktop.vnc.socket))
        except OSError as exc:
            raise BackendFailed(f"could not reach the desktop's VNC server: {exc}") from None
    except ServerError as exc:
        await refuse(websocket.scope, websocket.send, exc)
        return
    offered = websocket.scope.get("subprotocols") or []
    await websocket.accept(subprotocol="binary" if "binary" in offered else None)
    try:
        await _bridge(websocket, reader, writer)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def _bridge(websocket: WebSocket, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    async def upstream() -> None:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            data = message.get("bytes")
            if data is None:
                data = (message.get("text") or "").encode()
            writer.write(data)
            await writer.drain()

    async def downstream() -> None:
        while data := await reader.read(READ):
            await websocket.send_bytes(data)
        await websocket.close(1000)  # x11vnc ended the session

    tasks = [asyncio.create_task(upstream()), asyncio.create_task(downstream())]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                log.info("desktop view closed: %s", task.exception())
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def novnc_dir(connection: Request | WebSocket) -> Path | None:
    """The noVNC folder when the server has one (with its RFB module), else None."""
    folder = state(connection).config.novnc_dir
    return folder if folder is not None and (folder / "core" / "rfb.js").is_file() else None


async def novnc_file(request: Request) -> Response:
    """One of noVNC's JavaScript modules: files under its core/ and vendor/ folders only."""
    root = novnc_dir(request)
    name = request.path_params["path"]
    if root is None:
        raise NotFound("noVNC is not installed on the server (apt-get install novnc); the console shows "
                       "desktops as screenshots instead")
    path = (root / name).resolve()
    if (not name.startswith(NOVNC_FOLDERS) or not name.endswith(".js") or ".." in name.split("/")
            or not path.is_relative_to(root.resolve()) or not path.is_file()):
        raise NotFound(f"no noVNC module {name!r}; only .js files under core/ and vendor/ are served")
    return Response(path.read_bytes(), media_type="text/javascript; charset=utf-8", headers=HEADERS)


def routes() -> list[BaseRoute]:
    """The desktop routes of computers and conversations, and noVNC's files."""
    found: list[BaseRoute] = []
    for kind in ("computers", "conversations"):
        found += [Route(f"/{kind}/{{id}}/desktop", info, methods=["GET"]),
                  Route(f"/{kind}/{{id}}/desktop/screenshot", screenshot, methods=["GET"]),
                  WebSocketRoute(f"/{kind}/{{id}}/desktop/vnc", vnc)]
    return [*found, Route(NOVNC + "{path:path}", novnc_file, methods=["GET"])]
