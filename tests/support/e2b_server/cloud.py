"""The WSGI app of the fake cloud: routes like E2B's edge does, by the sandbox headers.

A request with an `E2b-Sandbox-Id` header goes to that sandbox (envd on port
49983, the code interpreter on 49999), else to the control-plane API. A
sandbox that does not exist (killed, expired, lost) answers 502 "The sandbox
... was not found", which the SDK turns into `SandboxNotRunningException`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from e2b.envd.process.process_connect import ProcessWSGIApplication
from werkzeug.wrappers import Request, Response

from tests.support.e2b_server import api, envd, interpreter
from tests.support.e2b_server.sandboxes import Sandbox

JUPYTER_PORT = "49999"


@dataclass
class Fault:
    """A scripted failure of the control plane: the next `times` matching requests fail."""

    method: str  #: HTTP method to match
    path: str  #: path prefix to match
    status: int  #: status to answer with
    message: str  #: error message of the body
    times: int = 1  #: how many requests fail


class FakeCloud:
    """Sandboxes, their expiry, the routing and scripted faults."""

    def __init__(self, api_key: str, templates: Iterable[str]) -> None:
        self.api_key = api_key
        self.templates = set(templates)
        self.sandboxes: dict[str, Sandbox] = {}
        self.faults: list[Fault] = []
        self.requests: list[tuple[str, str]] = []  #: (method, path) of every control-plane request
        self._lock = threading.Lock()
        self._process_app = ProcessWSGIApplication(envd.ProcessService(self))

    # -- registry -------------------------------------------------------------------
    def add(self, sandbox: Sandbox) -> None:
        """Register a new sandbox."""
        with self._lock:
            self.sandboxes[sandbox.id] = sandbox

    def get(self, sandbox_id: str) -> Sandbox | None:
        """The live sandbox with that id, if any."""
        sandbox = self.sandboxes.get(sandbox_id)
        return sandbox if sandbox is not None and sandbox.alive else None

    def remove(self, sandbox_id: str) -> None:
        """Kill a sandbox and forget it."""
        with self._lock:
            sandbox = self.sandboxes.pop(sandbox_id, None)
        if sandbox is not None:
            sandbox.kill()

    def reap(self) -> None:
        """Kill every sandbox past its timeout."""
        now = time.monotonic()
        for sandbox in list(self.sandboxes.values()):
            if sandbox.deadline < now:
                self.remove(sandbox.id)

    def take_fault(self, method: str, path: str) -> Response | None:
        """The scripted failure for this request, if one is armed."""
        with self._lock:
            self.requests.append((method, path))
            for fault in self.faults:
                if fault.method == method and path.startswith(fault.path) and fault.times > 0:
                    fault.times -= 1
                    return api.error(fault.status, fault.message)
        return None

    # -- WSGI -----------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        sandbox_id = environ.get("HTTP_E2B_SANDBOX_ID")
        if sandbox_id is None:
            return api.handle(self, Request(environ))(environ, start_response)  # type: ignore[no-any-return]
        sandbox = self.get(sandbox_id)
        if sandbox is None:
            gone = api.error(502, f"The sandbox {sandbox_id} was not found")
            return gone(environ, start_response)  # type: ignore[no-any-return]
        if environ.get("HTTP_X_ACCESS_TOKEN") != sandbox.token:
            return api.error(401, "invalid access token")(environ, start_response)  # type: ignore[no-any-return]
        if environ.get("HTTP_E2B_SANDBOX_PORT") == JUPYTER_PORT:
            return interpreter.handle(sandbox, Request(environ))(environ, start_response)  # type: ignore[no-any-return]
        envd.current.socket = environ.get("werkzeug.socket")
        path = environ.get("PATH_INFO", "")
        if path == "/health":
            return Response(status=204)(environ, start_response)  # type: ignore[no-any-return]
        if path == "/files":
            return envd.files(sandbox, Request(environ))(environ, start_response)  # type: ignore[no-any-return]
        return self._process_app(environ, start_response)  # type: ignore[no-any-return]
