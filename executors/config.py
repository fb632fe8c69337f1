"""What every backend config shares: its backend's name and `create()`, which makes its executor.

A config names its executor as a lazy `"module:Class"` reference, so a config
(a small frozen dataclass) never loads a backend's SDK; `create()` imports the
executor on first use. The list of backends is in `executors.backends`.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import ClassVar, Self

from executors.base import Executor
from executors.errors import UnknownBackend


class ExecutorConfig:
    """Base of the backend configs (LocalConfig, DockerConfig, E2BConfig): `create()` makes the executor."""

    #: the backend's name, as `executors.create()`, `--sandbox` and the settings spell it
    backend: ClassVar[str]
    #: the executor class, "module:Class", imported only when an executor is made
    executor: ClassVar[str]
    #: the pip extra that installs the backend's dependencies, if it needs one
    extra: ClassVar[str | None] = None

    def executor_class(self) -> type[Executor]:
        """The executor class of this backend; UnknownBackend if its dependencies are not installed."""
        module_name, _, class_name = self.executor.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            install = f"; install it with `pip install 'lmc[{self.extra}]'`" if self.extra else ""
            raise UnknownBackend(
                f"the {self.backend!r} sandbox is not available in this installation ({exc}){install}"
            ) from exc
        cls: type[Executor] = getattr(module, class_name)
        return cls

    def with_env(self, env: Mapping[str, str]) -> Self:
        """This config with `env` added to the sandbox's environment variables."""
        raise NotImplementedError(f"{type(self).__name__} does not define with_env()")

    def create(self) -> Executor:
        """A new executor of this backend with this config (its sandbox starts on first use)."""
        return self.executor_class()(self)  # type: ignore[call-arg]
