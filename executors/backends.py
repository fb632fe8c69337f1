"""The sandbox backends: the one list of their names and the one way to make an executor by name.

    from executors.backends import BACKENDS, BackendConfig, backend_names, create

    create("docker")                        # by name, default config
    create("docker", DockerConfig(cpus=2))  # by name, with its config
    DockerConfig(cpus=2).create()           # the same: a config knows its backend

Every place that lists backends (CLI choices, settings, the fleet) reads
`backend_names()`; every place that makes an executor goes through a config's
`create()`. Configs are light; a backend's SDK loads when its executor is made.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, TypeAlias

from executors.errors import UnknownBackend, WrongBackendConfig

if TYPE_CHECKING:
    from executors.base import Executor
    from executors.docker.config import DockerConfig
    from executors.e2b.config import E2BConfig
    from executors.local import LocalConfig

    #: a config of any backend: the typed way to choose one
    BackendConfig: TypeAlias = LocalConfig | DockerConfig | E2BConfig

#: THE list: backend name -> its config class, "module:Class". Loaded only when a config is
#: needed, so reading the names (every CLI's --sandbox choices) costs no import: the local
#: config's module also holds its executor and the agent client.
_CONFIGS = {
    "local": "executors.local:LocalConfig",
    "docker": "executors.docker.config:DockerConfig",
    "e2b": "executors.e2b.config:E2BConfig",
}


def __getattr__(name: str) -> Any:
    # BACKENDS (name -> config class) and the BackendConfig union, built on first use
    if name == "BACKENDS":
        return {backend: config_class(backend) for backend in _CONFIGS}
    if name == "BackendConfig":
        from executors.docker.config import DockerConfig
        from executors.e2b.config import E2BConfig
        from executors.local import LocalConfig

        return LocalConfig | DockerConfig | E2BConfig
    raise AttributeError(f"module 'executors.backends' has no attribute {name!r}")


def backend_names() -> tuple[str, ...]:
    """Names of the backends, in the order to show them: local, docker, e2b."""
    return tuple(_CONFIGS)


def config_class(backend: str) -> type[BackendConfig]:
    """The config class of a backend by name; UnknownBackend naming the known ones."""
    if backend not in _CONFIGS:
        raise UnknownBackend(f"unknown sandbox {backend!r}; known: {', '.join(_CONFIGS)}")
    module, _, name = _CONFIGS[backend].partition(":")
    config: type[BackendConfig] = getattr(importlib.import_module(module), name)
    return config


def default_config(backend: str) -> BackendConfig:
    """The backend's config with every field at its default."""
    return config_class(backend)()


def create(backend: str, config: BackendConfig | None = None) -> Executor:
    """An executor for the named backend, with its config (the defaults when None)."""
    wanted = config_class(backend)
    if config is None:
        return wanted().create()
    if not isinstance(config, wanted):
        raise WrongBackendConfig(
            f"the {backend!r} sandbox takes a {wanted.__name__}; got a {type(config).__name__}; "
            f"pass {wanted.__name__}(...) or call create() on the config you have"
        )
    return config.create()
