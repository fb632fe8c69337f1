"""A local server that speaks the part of E2B's HTTP protocol the SDK uses.

The E2B cloud cannot be reached from the test machines, so this stands in for
it on 127.0.0.1 and the real, unmodified SDK talks to it through its own
settings (`api_url`, `sandbox_url`, `api_key`):

    control plane   POST /v2/sandboxes, POST /v2/sandboxes/{id}/connect,
                    POST /sandboxes/{id}/timeout, GET|DELETE /sandboxes/{id}
    envd (49983)    Connect-RPC process.Process/{Start,Connect,SendInput,SendSignal,
                    CloseStdin,List}; GET /health; GET|POST /files
    jupyter (49999) POST /execute (NDJSON stream), Python only

Each sandbox is a temp dir whose commands run as local process groups. Tests
can script failures (`fail_next`) and make a sandbox vanish (`lose`), as the
real cloud sometimes does. Not served (the backend does not use them): PTY,
the filesystem RPC service and watches, pause/resume, snapshots, templates,
HTTP/2 (the SDK speaks HTTP/1.1 to plain-http URLs), user switching.
"""

from __future__ import annotations

import threading
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from tests.support.e2b_server.cloud import FakeCloud, Fault
from tests.support.e2b_server.sandboxes import Sandbox

__all__ = ["E2BServer", "Fault", "Sandbox"]

API_KEY = "e2b_local_test_key"
TEMPLATES = ("base", "code-interpreter-v1")


class _QuietHandler(WSGIRequestHandler):
    """No access log: test output stays readable."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class E2BServer:
    """The fake cloud on a free port of 127.0.0.1, served by threads."""

    def __init__(self, api_key: str = API_KEY, templates: tuple[str, ...] = TEMPLATES) -> None:
        self.cloud = FakeCloud(api_key, templates)
        self._server: BaseWSGIServer | None = None
        self._stop = threading.Event()

    @property
    def url(self) -> str:
        """Base URL of the server (API and sandboxes alike)."""
        assert self._server is not None, "start() the server first"
        return f"http://127.0.0.1:{self._server.server_port}"

    @property
    def api_key(self) -> str:
        """The only API key the server accepts."""
        return self.cloud.api_key

    def start(self) -> E2BServer:
        """Listen and serve in background threads."""
        self._server = make_server("127.0.0.1", 0, self.cloud, threaded=True, request_handler=_QuietHandler)
        threading.Thread(target=self._server.serve_forever, name="e2b-server", daemon=True).start()
        threading.Thread(target=self._reap, name="e2b-reaper", daemon=True).start()
        return self

    def _reap(self) -> None:
        while not self._stop.wait(0.2):
            self.cloud.reap()

    def stop(self) -> None:
        """Kill every sandbox and stop serving."""
        self._stop.set()
        for sandbox_id in list(self.cloud.sandboxes):
            self.cloud.remove(sandbox_id)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def sdk_options(self) -> dict[str, Any]:
        """The SDK's own connection settings that point it here."""
        return {"api_key": self.api_key, "api_url": self.url, "sandbox_url": self.url}

    def fail_next(self, method: str, path: str, status: int, message: str, times: int = 1) -> None:
        """Make the next `times` control-plane requests matching method and path prefix fail."""
        self.cloud.faults.append(Fault(method, path, status, message, times))

    def lose(self, sandbox_id: str) -> None:
        """Make a sandbox vanish mid-use, as E2B's "sandbox not found" failures do."""
        self.cloud.remove(sandbox_id)

    def live(self) -> list[str]:
        """Ids of the sandboxes alive now."""
        return [sid for sid in self.cloud.sandboxes if self.cloud.get(sid) is not None]
