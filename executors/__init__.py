"""Running code: languages, the in-sandbox agent, sandbox backends.

`create(backend, config)` makes an executor by backend name; backends are
imported only when asked for, so the heavy SDKs (docker, e2b) load lazily.
"""

from __future__ import annotations

import importlib
from typing import Any

from executors.base import Executor, LanguageInfo
from executors.errors import ExecutorError, UnknownBackend, UnknownLanguage
from executors.sandbox.languages.base import RunLimits

#: backend name -> "module:ExecutorClass"
BACKENDS = {
    "local": "executors.local:LocalExecutor",
    "docker": "executors.docker.executor:DockerExecutor",
    "e2b": "executors.e2b.executor:E2BExecutor",
}

__all__ = [
    "BACKENDS", "Executor", "ExecutorError", "LanguageInfo", "RunLimits", "UnknownBackend",
    "UnknownLanguage", "create",
]


def create(backend: str, config: Any = None) -> Executor:
    """An executor for the named backend ("local", "docker", "e2b"), with its config object."""
    if backend not in BACKENDS:
        raise UnknownBackend(f"unknown sandbox {backend!r}; known: {', '.join(BACKENDS)}")
    module_name, _, cls_name = BACKENDS[backend].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise UnknownBackend(
            f"the {backend!r} sandbox is not available in this installation ({exc})"
        ) from exc
    cls = getattr(module, cls_name)
    return cls(config) if config is not None else cls()  # type: ignore[no-any-return]
