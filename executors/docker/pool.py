"""A warm pool of started docker sandboxes, so a new session gets one at once.

A background thread keeps `size` sandboxes started (their agent has greeted;
the greeting is kept for the session), each with its virtual desktop running when
the config has one (DockerConfig.desktop: Xvfb and its window manager up). `acquire()` hands one out, skipping any
that died while waiting, and never takes it back: a used sandbox is closed by
its session and never reaches another one.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass, field

from executors.docker.config import DockerConfig
from executors.docker.container import start_sandbox
from executors.docker.errors import AgentStartFailed, InvalidDockerConfig
from executors.docker.transport import AttachTransport
from executors.errors import SandboxError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PoolConfig:
    """How many sandboxes to keep ready, and how to start them."""

    size: int = 2  #: started sandboxes kept ready
    sandbox: DockerConfig = field(default_factory=DockerConfig)  #: how each sandbox is started

    def __post_init__(self) -> None:
        if self.size < 1:
            raise InvalidDockerConfig(f"PoolConfig.size must be at least 1; got {self.size!r}")


class SandboxPool:
    """Keeps started sandboxes ready; `acquire()` takes one, or starts one when none is ready."""

    def __init__(self, config: PoolConfig | None = None) -> None:
        self.pool_config = config or PoolConfig()
        self.config = self.pool_config.sandbox
        self._ready: deque[AttachTransport] = deque()
        self._wake = threading.Condition()
        self._closed = False
        self.last_error: SandboxError | None = None  #: why the filler last failed, if it did
        self._filler = threading.Thread(target=self._fill, name="lmc-docker-pool", daemon=True)
        self._filler.start()

    @property
    def ready(self) -> int:
        """How many started sandboxes wait in the pool."""
        return len(self._ready)

    def acquire(self) -> AttachTransport:
        """A started sandbox, removed from the pool for good."""
        transport = None
        while transport is None:
            with self._wake:
                if self._closed:
                    raise InvalidDockerConfig("this SandboxPool is closed; make a new one")
                if not self._ready:
                    break
                transport = self._ready.popleft()
                self._wake.notify_all()
            # killed or pruned while it waited, or its desktop's X server died
            if not transport.alive() or (transport.desktop is not None and not transport.desktop.alive()):
                log.warning("pooled sandbox %s died while waiting; skipping it", transport.short_id)
                transport.close()
                transport = None
        if transport is None:
            log.info("pool empty: starting a sandbox on demand")
            transport = start_sandbox(self.config)
        return transport

    def wait_ready(self, count: int | None = None, timeout: float = 60.0) -> bool:
        """Block until `count` (default: size) sandboxes are ready; False on timeout."""
        count = self.pool_config.size if count is None else count
        with self._wake:
            return self._wake.wait_for(lambda: len(self._ready) >= count or self._closed, timeout)

    def _fill(self) -> None:
        delay = 0.0
        while True:
            with self._wake:
                self._wake.wait_for(lambda: self._closed or len(self._ready) < self.pool_config.size)
                if self._closed:
                    return
            try:
                transport = self._start()
            except SandboxError as exc:  # acquire() still starts sandboxes on demand; retry slower
                self.last_error = exc
                log.warning("pool could not start a sandbox: %s", exc)
                delay = min(max(delay * 2, 0.5), 30.0)
                with self._wake:
                    self._wake.wait_for(lambda: self._closed, timeout=delay)
                continue
            delay = 0.0
            with self._wake:
                if self._closed:
                    transport.close()
                    return
                self._ready.append(transport)
                self._wake.notify_all()

    def _start(self) -> AttachTransport:
        transport = start_sandbox(self.config)
        if not transport.prime():  # only sandboxes whose agent came up are worth keeping
            reason = transport.describe_exit()
            transport.close()
            raise AgentStartFailed(f"a pooled sandbox's agent {reason}")
        return transport

    def close(self) -> None:
        """Stop refilling and remove the sandboxes still waiting."""
        with self._wake:
            self._closed = True
            waiting, self._ready = list(self._ready), deque()
            self._wake.notify_all()
        self._filler.join(timeout=30)
        for transport in waiting:
            transport.close()

    def __enter__(self) -> SandboxPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
