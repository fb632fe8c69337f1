"""E2BServer: the emulator served by threads on 127.0.0.1, with the knobs tests use to script failures."""

from __future__ import annotations

import sys
import threading
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from executors.e2b.config import E2BConfig
from executors.e2b.emulator.app import App
from executors.e2b.emulator.state import Cloud, Fault

#: the API key the emulator accepts unless told another
API_KEY = "e2b_local_test_key"
#: templates it can create sandboxes from (all of them are this machine's Python and tools)
TEMPLATES = ("base", "code-interpreter-v1")


class _QuietHandler(WSGIRequestHandler):
    """No access log: a test's output, or the console of `python -m executors.e2b.emulator`, stays readable."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class E2BServer:
    """The emulated E2B cloud on a port of 127.0.0.1 (a free one by default), served by threads."""

    def __init__(self, api_key: str = API_KEY, templates: tuple[str, ...] = TEMPLATES,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        self.cloud = Cloud(api_key, templates)  #: the sandboxes, faults and requests seen
        self.app = App(self.cloud)  #: the WSGI application, to serve it some other way
        self.host, self.port = host, port
        self._server: BaseWSGIServer | None = None
        self._stop = threading.Event()

    @property
    def url(self) -> str:
        """Base URL of the server (API and sandboxes alike)."""
        assert self._server is not None, "start() the server first"
        return f"http://{self.host}:{self._server.server_port}"

    @property
    def api_key(self) -> str:
        """The only API key the server accepts."""
        return self.cloud.api_key

    def start(self) -> E2BServer:
        """Listen and serve in background threads."""
        self._server = make_server(self.host, self.port, self.app, threaded=True, request_handler=_QuietHandler)
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

    def __enter__(self) -> E2BServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def sdk_options(self) -> dict[str, Any]:
        """The SDK's own connection settings that point it here (also E2BConfig fields)."""
        return {"api_key": self.api_key, "api_url": self.url, "sandbox_url": self.url}

    def config(self, **overrides: Any) -> E2BConfig:
        """An E2BConfig that reaches this server; its sandboxes run this machine's Python (and packages)."""
        settings: dict[str, Any] = {**self.sdk_options(), "python": sys.executable}
        return E2BConfig(**{**settings, **overrides})

    def environment(self) -> dict[str, str]:
        """The same settings as the environment variables the e2b SDK reads."""
        return {"E2B_API_KEY": self.api_key, "E2B_API_URL": self.url, "E2B_SANDBOX_URL": self.url}

    def fail_next(self, method: str, path: str, status: int, message: str, times: int = 1) -> None:
        """Make the next `times` control-plane requests matching method and path prefix fail."""
        self.cloud.faults.append(Fault(method, path, status, message, times))

    def lose(self, sandbox_id: str) -> None:
        """Make a sandbox vanish mid-use, as E2B's "sandbox not found" failures do."""
        self.cloud.remove(sandbox_id)

    def live(self) -> list[str]:
        """Ids of the sandboxes alive now."""
        return [sid for sid in self.cloud.sandboxes if self.cloud.get(sid) is not None]
