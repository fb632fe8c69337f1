"""Sandboxes for fleet sessions: one fresh executor per attempt, from a warm pool when one fits."""

from __future__ import annotations

import dataclasses
import logging
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from executors.backends import BackendConfig, backend_names, default_config
from executors.docker.config import DockerConfig
from executors.e2b.config import E2BConfig
from executors.local import LocalConfig
from lmc.errors import LMCError
from orchestrator.fleet.errors import FleetConfigError, SessionSetupFailed

if TYPE_CHECKING:
    from executors.base import Executor
    from executors.docker.pool import SandboxPool

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SandboxConfig:
    """Which backend the fleet's sessions run in, and how it is started."""

    backend: str = "local"  #: a name of executors.backend_names(): local, docker or e2b
    warm: int = 0  #: docker sandboxes kept started ahead of demand, per node (0: none)
    per_node: int = 64  #: most sandboxes alive at once on one node (admission control)
    max_starting: int = 16  #: most sandboxes starting at once on one node (more overwhelm dockerd on 2 cores)
    docker: DockerConfig | None = None  #: base of every docker sandbox's config; None for the defaults
    e2b: E2BConfig | None = None  #: base of every E2B sandbox's config; None for the defaults

    def __post_init__(self) -> None:
        if self.backend not in backend_names():
            raise FleetConfigError(f"unknown sandbox {self.backend!r}; known: {', '.join(backend_names())}")
        if self.max_starting < 1:
            raise FleetConfigError(f"SandboxConfig.max_starting must be at least 1, got {self.max_starting!r}")
        if self.per_node < 1:
            raise FleetConfigError(f"SandboxConfig.per_node must be at least 1, got {self.per_node!r}")
        if self.warm < 0 or (self.warm and self.backend != DockerConfig.backend):
            raise FleetConfigError(
                f"SandboxConfig.warm={self.warm!r}: warm pools exist for the docker backend only; "
                "use warm=0 with local or e2b"
            )

    def base(self) -> BackendConfig:
        """The config every sandbox of the fleet starts from: the given one, or the backend's defaults."""
        given = {DockerConfig.backend: self.docker, E2BConfig.backend: self.e2b}.get(self.backend)
        return given if given is not None else default_config(self.backend)


@dataclass
class SandboxFactory:
    """Makes executors for one node; owns that node's warm pool and admission semaphore."""

    config: SandboxConfig
    _pool: SandboxPool | None = None
    _slots: threading.BoundedSemaphore = field(init=False)
    _starting: threading.BoundedSemaphore = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._slots = threading.BoundedSemaphore(self.config.per_node)
        self._starting = threading.BoundedSemaphore(self.config.max_starting)

    def admit(self) -> threading.BoundedSemaphore:
        """The semaphore a session holds while its sandbox lives."""
        return self._slots

    def start(self, executor: Executor) -> None:
        """Start the executor's sandbox now, at most max_starting at once (it would start on first use)."""
        with self._starting:
            try:
                executor.languages()  # connects and reads the agent's hello
            except LMCError:
                raise
            except Exception as exc:
                # Why so broad: under load the docker SDK's HTTP pool was seen to raise a raw
                # AttributeError mid-start; whatever breaks while a sandbox starts is infrastructure
                raise SessionSetupFailed(f"starting the {self.config.backend} sandbox failed: "
                                         f"{type(exc).__name__}: {exc}") from exc

    def create(self, env: dict[str, str], cwd: str | None) -> Executor:
        """A new executor whose sandbox has `env` (and `cwd`, for the local backend)."""
        base = self.config.base()
        wanted = base.with_env(env)
        if isinstance(wanted, LocalConfig):
            return dataclasses.replace(wanted, cwd=cwd).create()
        if isinstance(wanted, DockerConfig) and "DISPLAY" in env:
            # the session's desktop: its X socket is mounted, so GUI programs in the sandbox draw on it
            wanted = dataclasses.replace(wanted, display=env["DISPLAY"])
        if isinstance(base, DockerConfig):
            pool = self._warm_pool(base)
            # a pooled sandbox was started with the base environment: it fits only when nothing is added
            if pool is not None and wanted == pool.config:
                from executors.docker.executor import DockerExecutor

                return DockerExecutor(pool=pool)
        return wanted.create()

    def _warm_pool(self, base: DockerConfig) -> SandboxPool | None:
        if not self.config.warm:
            return None
        with self._lock:
            if self._pool is None:
                from executors.docker.pool import PoolConfig, SandboxPool

                self._pool = SandboxPool(PoolConfig(size=self.config.warm, sandbox=base))
            return self._pool

    def wait_warm(self, timeout: float = 120.0) -> bool:
        """Block until the warm pool is full (True at once when there is none)."""
        base = self.config.base()
        pool = self._warm_pool(base) if isinstance(base, DockerConfig) else None
        return pool is None or pool.wait_ready(timeout=timeout)

    def close(self) -> None:
        """Remove the warm sandboxes still waiting."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()
