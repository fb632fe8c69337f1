"""Running code: languages, the in-sandbox agent, sandbox backends.

Choose a backend by its config, `LocalConfig | DockerConfig | E2BConfig`
(`DockerConfig(cpus=2).create()`), or by name with `create("docker", config)`.
The names are `backend_names()`; see executors/backends.py. Configs are light:
a backend's SDK (docker, e2b) loads when its executor is made.

This file also travels into every sandbox (executors/sandbox/ship.py) without
the backends, so it imports them lazily, on first use of one of their names.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from executors.base import Executor, LanguageInfo
from executors.errors import ExecutorError, UnknownBackend, UnknownLanguage, WrongBackendConfig
from executors.sandbox.languages.base import RunLimits

if TYPE_CHECKING:
    from executors.backends import BACKENDS, BackendConfig, backend_names, create, default_config
    from executors.docker.config import DockerConfig
    from executors.e2b.config import E2BConfig
    from executors.local import LocalConfig

#: names of this package that live in host-side modules, imported when first asked for
_LAZY = {
    "BACKENDS": "executors.backends", "BackendConfig": "executors.backends", "backend_names": "executors.backends",
    "create": "executors.backends", "default_config": "executors.backends",
    "DockerConfig": "executors.docker.config", "E2BConfig": "executors.e2b.config", "LocalConfig": "executors.local",
}

__all__ = [
    "BACKENDS", "BackendConfig", "DockerConfig", "E2BConfig", "Executor", "ExecutorError", "LanguageInfo",
    "LocalConfig", "RunLimits", "UnknownBackend", "UnknownLanguage", "WrongBackendConfig", "backend_names",
    "create", "default_config",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'executors' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value
