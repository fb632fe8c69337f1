"""What stands before every route: the token, the Origin of WebSocket upgrades, the size of bodies.

A pure ASGI middleware, so it sees every request, routed or not. A request passes with a known
token in `Authorization: Bearer <token>`; the owner id of that token is put in the scope
(`OWNER`). The Open Interpreter route also takes the token as its first message (its protocol),
so its upgrade passes with `OWNER` unset, and the route checks the message. A browser cannot set
headers on a WebSocket, so an upgrade may carry the token as the subprotocol
`lmc.token.<base64url of the token>` instead (offered next to the one the route speaks). The web
console's static files (`public` paths and prefixes, GET only: a browser sends no header on a page
load) pass without a token; they hold no data.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from orchestrator.server.config import ServerConfig
from orchestrator.server.errors import ForbiddenOrigin, ServerError, TooLarge, Unauthorized, to_body
from orchestrator.server.tokens import Tokens

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: the scope key holding the owner id of the request's token
OWNER = "lmc.owner"
#: WebSocket paths whose protocol carries the token in its first message (Open Interpreter's)
TOKEN_IN_MESSAGE = frozenset({"/"})
#: the subprotocol prefix of a token sent by a browser's WebSocket (base64url, padding optional)
TOKEN_PROTOCOL = "lmc.token."
#: an oversized body up to this many times the limit is read (and dropped) before the 413 is sent
DRAIN_UP_TO = 4
NO_TOKEN = ("no token or an unknown one; send it as the header 'Authorization: Bearer <token>' "
            "(the token file `lmc serve` printed on first start, or the one given with --token-file)")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def bearer(scope: Scope) -> str | None:
    """The token of an `Authorization: Bearer` header, if any."""
    value = _header(scope, b"authorization")
    if value is None and scope["type"] == "websocket":
        return protocol_token(scope.get("subprotocols") or [])
    if value is None or not value.lower().startswith("bearer "):
        return None
    return value[7:].strip()


def protocol_token(subprotocols: list[str]) -> str | None:
    """The token of an `lmc.token.<base64url>` WebSocket subprotocol, if any."""
    for protocol in subprotocols:
        if protocol.startswith(TOKEN_PROTOCOL):
            encoded = protocol[len(TOKEN_PROTOCOL):]
            try:
                return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
            except (binascii.Error, ValueError):
                return None
    return None


def same_origin(scope: Scope, allowed: tuple[str, ...]) -> bool:
    """Whether a WebSocket upgrade may proceed: no Origin (not a browser), the server's own, or an allowed one."""
    origin = _header(scope, b"origin")
    if origin is None:
        return True
    if origin.rstrip("/") in allowed:
        return True
    host = _header(scope, b"host")
    return host is not None and urlsplit(origin).netloc.lower() == host.lower()


async def refuse(scope: Scope, send: Send, error: ServerError) -> None:
    """Answer with an error body: an HTTP response, or a refused WebSocket handshake."""
    body = json.dumps(to_body(error)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if isinstance(error, Unauthorized):
        headers.append((b"www-authenticate", b"Bearer"))
    kind = "websocket.http.response" if scope["type"] == "websocket" else "http.response"
    await send({"type": f"{kind}.start", "status": error.status, "headers": headers})
    await send({"type": f"{kind}.body", "body": body})


class Guard:
    """Token, Origin and body-size checks in front of the app."""

    def __init__(self, app: ASGIApp, tokens: Tokens, config: ServerConfig, upload_path: Callable[[str], bool],
                 public: frozenset[str] = frozenset(), public_prefixes: tuple[str, ...] = ()) -> None:
        self.app, self.tokens, self.config, self.upload_path = app, tokens, config, upload_path
        self.public, self.public_prefixes = public, public_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check, then pass to the app."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket" and not same_origin(scope, self.config.allowed_origins):
            log.warning("refused a WebSocket upgrade to %s from origin %s", scope["path"], _header(scope, b"origin"))
            await refuse(scope, send, ForbiddenOrigin(
                "this WebSocket was opened by a page of another site; only the server's own pages and "
                "origins given with --allow-origin may open one"))
            return
        owner = self.tokens.owner(bearer(scope))
        if owner is None and not self._open(scope):
            log.info("refused an unauthenticated %s to %s", scope["type"], scope["path"])
            await refuse(scope, send, Unauthorized(NO_TOKEN))
            return
        scope[OWNER] = owner
        if scope["type"] == "http":
            await self._limited(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    def _open(self, scope: Scope) -> bool:
        """Whether a request may pass without a token: the OI upgrade, a GET of a public file."""
        if scope["type"] == "websocket":
            return scope["path"] in TOKEN_IN_MESSAGE
        public = scope["path"] in self.public or scope["path"].startswith(self.public_prefixes)
        return public and scope["method"] in ("GET", "HEAD")

    async def _limited(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.config.max_upload if self.upload_path(scope["path"]) else self.config.max_body
        what = "an upload" if limit == self.config.max_upload else "a request body"
        too_large = TooLarge(f"{what} may be at most {limit} bytes (the server's limit); send less, "
                             "or start the server with a larger --max-body / --max-upload")
        length = _header(scope, b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            if int(length) <= DRAIN_UP_TO * limit:  # read it so the client sees the answer, not a reset
                while (await receive()).get("more_body", False):
                    pass
            await refuse(scope, send, too_large)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise too_large
            return message

        await self.app(scope, counted, send)
