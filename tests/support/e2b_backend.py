"""The e2b backend for the contract suite: a real-SDK E2BExecutor pointed at the E2B emulator.

One emulator per test process, started on first use and stopped at exit. With
LMC_E2B_LIVE=1 (and E2B_API_KEY set) it targets the real E2B cloud instead:

    LMC_E2B_LIVE=1 E2B_API_KEY=e2b_... python -m pytest -q tests/contract -k e2b
"""

from __future__ import annotations

import atexit
import os
import threading

from executors.e2b.config import E2BConfig
from executors.e2b.emulator import E2BServer
from executors.e2b.executor import E2BExecutor

_server: E2BServer | None = None
_lock = threading.Lock()


def server() -> E2BServer:
    """The shared E2B emulator, started on first use."""
    global _server
    with _lock:
        if _server is None:
            _server = E2BServer().start()
            atexit.register(_server.stop)
        return _server


def config(srv: E2BServer | None = None, **overrides: object) -> E2BConfig:
    """An E2BConfig that reaches the emulator through the SDK's own settings, retrying quickly."""
    return (srv or server()).config(**{"backoff": 0.05, **overrides})


def make_executor() -> E2BExecutor:
    """An E2BExecutor on the shared emulator, or on the real cloud when LMC_E2B_LIVE=1."""
    if os.environ.get("LMC_E2B_LIVE") == "1":
        return E2BExecutor(E2BConfig(timeout=600))  # key from E2B_API_KEY, the default template
    return E2BExecutor(config())
