"""Sandboxes for fleet sessions: one fresh executor per attempt, from a warm pool when one fits."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from lmc.errors import LMCError
from orchestrator.fleet.errors import FleetConfigError, SessionSetupFailed

log = logging.getLogger(__name__)

BACKENDS = ("local", "docker", "e2b")


@dataclass(frozen=True)
class SandboxConfig:
    """Which backend the fleet's sessions run in, and how it is started."""

    backend: str = "local"  #: local, docker or e2b
    warm: int = 0  #: docker sandboxes kept started ahead of demand, per node (0: none)
    per_node: int = 64  #: most sandboxes alive at once on one node (admission control)
    max_starting: int = 16  #: most sandboxes starting at once on one node (more overwhelm dockerd on 2 cores)
    docker: Any = None  #: executors.docker.executor.DockerConfig for every docker sandbox; None for defaults
    e2b: Any = None  #: executors.e2b.executor.E2BConfig base for every E2B sandbox; None for defaults

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise FleetConfigError(f"unknown sandbox {self.backend!r}; known: {', '.join(BACKENDS)}")
        if self.max_starting < 1:
            raise FleetConfigError(f"SandboxConfig.max_starting must be at least 1, got {self.max_starting!r}")
        if self.per_node < 1:
            raise FleetConfigError(f"SandboxConfig.per_node must be at least 1, got {self.per_node!r}")
        if self.warm < 0 or (self.warm and self.backend != "docker"):
            raise FleetConfigError(
                f"SandboxConfig.warm={self.warm!r}: warm pools exist for the docker backend only; "
                "use warm=0 with local or e2b"
            )


@dataclass
class SandboxFactory:
    """Makes executors for one node; owns that node's warm pool and admission semaphore."""

    config: SandboxConfig
    _pool: Any = None
    _slots: threading.BoundedSemaphore = field(init=False)
    _starting: threading.BoundedSemaphore = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._slots = threading.BoundedSemaphore(self.config.per_node)
        self._starting = threading.BoundedSemaphore(self.config.max_starting)

    def admit(self) -> threading.BoundedSemaphore:
        """The semaphore a session holds while its sandbox lives."""
        return self._slots

    def start(self, executor: Any) -> None:
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

    def create(self, env: dict[str, str], cwd: str | None) -> Any:
        """A new executor whose sandbox has `env` (and `cwd`, for the local backend)."""
        import dataclasses

        from executors import create

        backend = self.config.backend
        if backend == "local":
            from executors.local import LocalConfig

            return create("local", LocalConfig(cwd=cwd, env=dict(env)))
        if backend == "docker":
            from executors.docker.executor import DockerConfig, DockerExecutor

            base = self.config.docker or DockerConfig()
            wanted = dataclasses.replace(base, env={**base.env, **env})
            pool = self._warm_pool(base)
            # a pooled sandbox was started with the base environment: it fits only when nothing is added
            if pool is not None and wanted == pool.config:
                return DockerExecutor(pool=pool)
            return DockerExecutor(wanted)
        from executors.e2b.executor import E2BConfig

        base = self.config.e2b or E2BConfig()
        return create("e2b", dataclasses.replace(base, envs={**dict(base.envs), **env}))

    def _warm_pool(self, base: Any) -> Any:
        if not self.config.warm:
            return None
        with self._lock:
            if self._pool is None:
                from executors.docker.pool import PoolConfig, SandboxPool

                self._pool = SandboxPool(PoolConfig(size=self.config.warm, sandbox=base))
            return self._pool

    def wait_warm(self, timeout: float = 120.0) -> bool:
        """Block until the warm pool is full (True at once when there is none)."""
        if not self.config.warm:
            return True
        from executors.docker.executor import DockerConfig

        pool = self._warm_pool(self.config.docker or DockerConfig())
        return bool(pool.wait_ready(timeout=timeout))

    def close(self) -> None:
        """Remove the warm sandboxes still waiting."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()
