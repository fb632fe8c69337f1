"""The docker backend: each sandbox is a container of the lmc sandbox image running the agent.

Safe by default: no network, a non-root user, limits on memory, CPU,
processes and disk (storage.py), all capabilities dropped, no host mounts but an explicit workspace,
no Docker socket, and no host environment variable unless named. The agent
talks over the container's attached stdin/stdout (see transport.py); the config is in
config.py, starting a container in container.py.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import replace

from executors.base import Transport
from executors.channel import AgentExecutor
from executors.docker.config import DockerConfig as DockerConfig
from executors.docker.config import x_socket as x_socket
from executors.docker.container import _host_config as _host_config
from executors.docker.container import start_sandbox
from executors.docker.errors import InvalidDockerConfig
from executors.docker.files import SandboxFiles
from executors.docker.pool import SandboxPool
from executors.docker.transport import AttachTransport
from executors.sandbox.languages.base import RunLimits
from lmc.messages import Chunk

log = logging.getLogger(__name__)


class DockerExecutor(AgentExecutor):
    """Runs code in a Docker container; a pool, if given, hands out started ones."""

    backend = "docker"

    def __init__(self, config: DockerConfig | None = None, pool: SandboxPool | None = None) -> None:
        super().__init__(self.connect)
        if pool is not None and config is not None and config != pool.config:
            raise InvalidDockerConfig(
                "DockerExecutor got a config that differs from its pool's; pass only the pool, "
                "or a pool made with this config"
            )
        self.config = pool.config if pool is not None else (config or DockerConfig())
        self.pool = pool
        self._files: SandboxFiles | None = None

    def connect(self) -> Transport:
        """A started sandbox: from the pool when one is ready, else a new container."""
        return self.pool.acquire() if self.pool is not None else start_sandbox(self.config)

    def run(self, language: str, code: str, limits: RunLimits | None = None) -> Iterator[Chunk]:
        """Stream a run's chunks; a language killed for lack of memory says so."""
        started = time.time()
        for chunk in super().run(language, code, limits):
            if chunk.type == "error" and chunk.format == "crashed":
                chunk = self._explain_crash(chunk, started)
            yield chunk

    def _explain_crash(self, chunk: Chunk, since: float) -> Chunk:
        """A language killed by signal 9 is usually the kernel's OOM killer: say so when it was."""
        transport = self.client.transport
        if not isinstance(transport, AttachTransport) or not transport.oom_kills_since(since - 1):
            return chunk
        return replace(chunk, content=(
            f"{chunk.content!s} (the sandbox ran out of memory: its limit is {self.config.memory_mb} MiB; "
            "use less memory or raise DockerConfig.memory_mb)"
        ))

    def sandbox(self) -> AttachTransport:
        """The running sandbox (its container id and Docker API), starting one if none runs."""
        with self.client.lock:
            transport = self.client.ensure()
        assert isinstance(transport, AttachTransport)
        return transport

    @property
    def has_screen(self) -> bool:
        """Whether the sandbox has a virtual desktop of its own (DockerConfig.desktop)."""
        return self.config.desktop is not None

    def screen(self) -> dict[str, str] | None:
        """DISPLAY and XAUTHORITY of the sandbox's own desktop (starting the sandbox if none runs), or
        None when its config has no desktop; it changes when a lost sandbox is replaced."""
        if self.config.desktop is None:
            return None
        # the running sandbox without the client's lock: computer.* calls from code in the sandbox
        # are answered while a run holds it
        transport = self.client.transport
        if not isinstance(transport, AttachTransport):
            transport = self.sandbox()
        assert transport.desktop is not None  # started with the sandbox, as its config asks
        return dict(transport.desktop.env())

    @property
    def files(self) -> SandboxFiles:
        """Copy files and folders into and out of the sandbox."""
        if self._files is None:
            self._files = SandboxFiles(self)
        return self._files
