"""Errors of `lmc serve`, shared by the server (which sends them) and the client (which raises them).

    LMCError (lmc.errors)
    └── ServerError                          a request to `lmc serve` failed; `status` and `kind` travel
        ├── BadRequest (ValueError)              the request is malformed or names an unknown thing (400)
        ├── Unauthorized (PermissionError)       no token, or a token the server does not know (401)
        ├── ForbiddenOrigin (PermissionError)    a WebSocket upgrade from another site (403)
        ├── NotFound (LookupError)               no such computer or conversation for this token (404)
        ├── Busy (RuntimeError)                  the computer or conversation is running already (409)
        ├── NothingPending (RuntimeError)        approve/decline with no code waiting for a decision (409)
        ├── TooLarge (ValueError)                the body is over the server's limit (413)
        ├── BackendFailed                        the sandbox or the model failed (502)
        ├── InternalError                        a bug of ours; the traceback stays in the server's log (500)
        ├── Unreachable (ConnectionError)        client side: no answer from the server, or the connection broke
        └── VersionMismatch                      client side: the server speaks another API version, or is no lmc serve

On the wire an error is one JSON body, `{"error": kind, "message": text}` (`to_body`), in an
HTTP response, an SSE `error` event or a WebSocket frame; `from_body` raises it again as the
same class on the client.
"""

from __future__ import annotations

from typing import Any, ClassVar

from executors.errors import ExecutorError, SandboxError
from lmc.errors import LMCError
from orchestrator.errors import ModelError


class ServerError(LMCError):
    """Root of the server's errors: an HTTP status and a kind name travel with the message."""

    status: ClassVar[int] = 500
    kind: ClassVar[str] = "internal"


class BadRequest(ServerError, ValueError):
    """The request is malformed or names something unknown; the message says how to fix it."""

    status, kind = 400, "bad_request"


class Unauthorized(ServerError, PermissionError):
    """No token, or one the server does not know."""

    status, kind = 401, "unauthorized"


class ForbiddenOrigin(ServerError, PermissionError):
    """A WebSocket upgrade from a page of another site (cross-site WebSocket hijacking)."""

    status, kind = 403, "forbidden_origin"


class NotFound(ServerError, LookupError):
    """No computer or conversation with that id belongs to this token."""

    status, kind = 404, "not_found"


class Busy(ServerError, RuntimeError):
    """The computer or conversation is already running something."""

    status, kind = 409, "busy"


class NothingPending(ServerError, RuntimeError):
    """Approve or decline arrived while no code waits for a decision."""

    status, kind = 409, "nothing_pending"


class TooLarge(ServerError, ValueError):
    """The request body is over the server's limit."""

    status, kind = 413, "too_large"


class BackendFailed(ServerError):
    """The sandbox (Docker, E2B, the agent) or the model's API failed."""

    status, kind = 502, "backend_failed"


class InternalError(ServerError):
    """A bug of ours; the details are in the server's log, never in the response."""


class Unreachable(ServerError, ConnectionError):
    """Raised by the client only: the server did not answer (refused, timed out) or the connection broke."""

    status, kind = 503, "unreachable"


class VersionMismatch(ServerError):
    """Raised by the client only: the server's API version is not the client's, or it is not `lmc serve`."""

    status, kind = 505, "version_mismatch"


KINDS: dict[str, type[ServerError]] = {
    cls.kind: cls
    for cls in (BadRequest, Unauthorized, ForbiddenOrigin, NotFound, Busy, NothingPending, TooLarge,
                BackendFailed, InternalError)
}


def to_body(exc: ServerError) -> dict[str, str]:
    """The JSON body of an error: its kind and its message."""
    return {"error": exc.kind, "message": str(exc)}


def from_body(body: Any, status: int | None = None) -> ServerError:
    """The error a JSON body describes (an InternalError when the body is not ours)."""
    if isinstance(body, dict) and isinstance(body.get("error"), str) and isinstance(body.get("message"), str):
        return KINDS.get(body["error"], InternalError)(body["message"])
    return InternalError(f"the server answered {status or 'something'} with a body lmc does not know: {body!r:.200}")


def as_server_error(exc: BaseException) -> ServerError:
    """The server error to answer with for an exception from the sandbox, the model or lmc.

    The one place that maps the rest of lmc's errors to statuses: the caller's mistake is a 400,
    a failing sandbox or model a 502, anything else a 500 whose details only the log sees.
    """
    if isinstance(exc, ServerError):
        return exc
    if isinstance(exc, LMCError) and isinstance(exc, FileNotFoundError):  # a path in the sandbox
        return NotFound(str(exc))
    if isinstance(exc, (SandboxError, ModelError)) and not isinstance(exc, (ValueError, TypeError)):
        return BackendFailed(f"{type(exc).__name__}: {exc}")
    if isinstance(exc, LMCError) and (isinstance(exc, (ValueError, TypeError, LookupError))
                                      or type(exc) is ExecutorError):
        return BadRequest(str(exc))
    if isinstance(exc, LMCError):
        return BackendFailed(f"{type(exc).__name__}: {exc}")
    return InternalError("the server failed while handling this request (a bug in lmc); "
                         "its log has the details")
