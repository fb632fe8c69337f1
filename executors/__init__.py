"""Running code: languages, the in-sandbox agent, sandbox backends.

Choose a backend by its config, `LocalConfig | DockerConfig | E2BConfig`
(`DockerConfig(cpus=2).create()`), or by name with `create("docker", config)`.
The names are `backend_names()`; see executors/backends.py. Configs are light:
a backend's SDK (docker, e2b) loads when its executor is made.
"""

from __future__ import annotations

from executors.backends import BACKENDS, BackendConfig, backend_names, create, default_config
from executors.base import Executor, LanguageInfo
from executors.docker.config import DockerConfig
from executors.e2b.config import E2BConfig
from executors.errors import ExecutorError, UnknownBackend, UnknownLanguage, WrongBackendConfig
from executors.local import LocalConfig
from executors.sandbox.languages.base import RunLimits

__all__ = [
    "BACKENDS", "BackendConfig", "DockerConfig", "E2BConfig", "Executor", "ExecutorError", "LanguageInfo",
    "LocalConfig", "RunLimits", "UnknownBackend", "UnknownLanguage", "WrongBackendConfig", "backend_names",
    "create", "default_config",
]
