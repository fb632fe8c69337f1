"""The emulator's WSGI app: routes like E2B's edge does, by the sandbox headers.

A request with an `E2b-Sandbox-Id` header goes to that sandbox (envd on port
49983, the code interpreter on 49999), else to the control-plane API. A
sandbox that does not exist (killed, expired, lost) answers 502 "The sandbox
... was not found", which the SDK turns into `SandboxNotRunningException`.
"""

from __future__ import annotations

from collections.abc import Iterable
from wsgiref.types import StartResponse, WSGIEnvironment

from e2b.envd.process.process_connect import ProcessWSGIApplication
from werkzeug.wrappers import Request, Response

from executors.e2b.emulator import api, envd, interpreter
from executors.e2b.emulator.state import Cloud

JUPYTER_PORT = "49999"


class App:
    """The WSGI application serving one emulated cloud: control plane and every sandbox."""

    def __init__(self, cloud: Cloud) -> None:
        self.cloud = cloud
        self._process_app = ProcessWSGIApplication(envd.ProcessService(cloud))

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Serve one request: to the control plane, or to the sandbox its headers name."""
        sandbox_id = environ.get("HTTP_E2B_SANDBOX_ID")
        if sandbox_id is None:
            response = api.handle(self.cloud, Request(environ))
        else:
            sandbox = self.cloud.get(sandbox_id)
            if sandbox is None:
                response = api.error(502, f"The sandbox {sandbox_id} was not found")
            elif environ.get("HTTP_X_ACCESS_TOKEN") != sandbox.token:
                response = api.error(401, "invalid access token")
            elif environ.get("HTTP_E2B_SANDBOX_PORT") == JUPYTER_PORT:
                response = interpreter.handle(sandbox, Request(environ))
            elif environ.get("PATH_INFO", "") == "/health":
                response = Response(status=204)
            elif environ.get("PATH_INFO", "") == "/files":
                response = envd.files(sandbox, Request(environ))
            else:
                envd.current.socket = environ.get("werkzeug.socket")  # so a lost sandbox can cut it
                body: Iterable[bytes] = self._process_app(environ, start_response)
                return body
        served: Iterable[bytes] = response(environ, start_response)
        return served
