"""The docker backend: each sandbox is a container of the lmc sandbox image running the agent.

Safe by default: no network, a non-root user, limits on memory, CPU and
processes, all capabilities dropped, no host mounts but an explicit workspace,
no Docker socket, and no host environment variable unless named. The agent
talks over the container's attached stdin/stdout (see docker_transport).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from executors.base import Transport
from executors.channel import AgentExecutor
from executors.docker import client as docker_client
from executors.docker.errors import InvalidDockerConfig, docker_errors
from executors.docker.payload import BOOT, payload
from executors.docker.transport import AttachTransport
from executors.sandbox.languages.base import RunLimits
from lmc.messages import Chunk

if TYPE_CHECKING:
    from executors.docker.files import SandboxFiles
    from executors.docker.pool import SandboxPool

log = logging.getLogger(__name__)

#: where the workspace folder is mounted, and the code's working directory
WORKDIR = "/workspace"
SANDBOX_USER = "1000:1000"
X_SOCKETS = "/tmp/.X11-unix"


@dataclass(frozen=True)
class DockerConfig:
    """How to start a docker sandbox; the defaults are the safe ones."""

    image: str | None = None  #: image to run; None for the recipe's image (`lmc image build`)
    network: bool = False  #: give the sandbox a network (bridge); off by default
    memory_mb: int = 1024  #: memory limit, swap included
    cpus: float = 1.0  #: CPU limit, in cores
    pids: int = 256  #: most processes and threads at once (contains fork bombs)
    #: host folder mounted read-write at /workspace, the only host mount; code runs as its owner
    #: (uid 1000 if root owns it, so then uid 1000 needs access to it)
    workspace: str | None = None
    env: dict[str, str] = field(default_factory=dict)  #: variables set in the sandbox
    forward_env: tuple[str, ...] = ()  #: names of host variables copied in (none are by default)
    shm_mb: int = 64  #: size of /dev/shm
    docker_host: str | None = None  #: Docker daemon URL; None for DOCKER_HOST or the local socket
    #: X display (e.g. ":101") whose socket is mounted so GUI programs in the sandbox draw on it
    display: str | None = None

    def __post_init__(self) -> None:
        for name, low in (("memory_mb", 16), ("pids", 16), ("shm_mb", 1)):
            if getattr(self, name) < low:
                raise InvalidDockerConfig(
                    f"DockerConfig.{name} must be at least {low}; got {getattr(self, name)!r}"
                )
        if self.cpus <= 0:
            raise InvalidDockerConfig(f"DockerConfig.cpus must be above 0; got {self.cpus!r}")
        if self.workspace is not None:
            _check_workspace(self.workspace)
        if self.display is not None:
            x_socket(self.display)


def x_socket(display: str) -> str:
    """The host socket of a local X display like ":101"; InvalidDockerConfig if it has none."""
    number = display.partition(":")[2].partition(".")[0]
    if not display.startswith(":") or not number.isdigit():
        raise InvalidDockerConfig(
            f"DockerConfig.display must be a local X display like ':101'; got {display!r}"
        )
    path = f"{X_SOCKETS}/X{number}"
    if not Path(path).exists():
        raise InvalidDockerConfig(
            f"DockerConfig.display {display!r} has no X socket at {path}; start that display "
            "(e.g. a devices.desktop.VirtualDesktop) first"
        )
    return path


def _check_workspace(folder: str) -> None:
    path = Path(folder).resolve()
    if not path.is_dir():
        raise InvalidDockerConfig(
            f"DockerConfig.workspace must be an existing folder; {folder!r} is not one; create it first"
        )
    if path == Path("/") or Path("/var/run/docker.sock").resolve().is_relative_to(path):
        raise InvalidDockerConfig(
            f"DockerConfig.workspace {folder!r} would expose the host's root or Docker socket to the "
            "sandbox; mount a dedicated folder instead"
        )


def _environment(config: DockerConfig, user: str) -> dict[str, str]:
    # /home/lmc belongs to uid 1000; another uid (a workspace's owner) gets a writable home in /tmp
    home = "/home/lmc" if user == SANDBOX_USER else "/tmp"
    env = {"HOME": home, "LANG": "C.UTF-8", "PYTHONUNBUFFERED": "1"}
    missing = [name for name in config.forward_env if name not in os.environ]
    if missing:
        raise InvalidDockerConfig(
            f"DockerConfig.forward_env names host variables that are not set: {', '.join(missing)}; "
            "set them or drop them from forward_env"
        )
    env.update({name: os.environ[name] for name in config.forward_env})
    if config.display:
        env["DISPLAY"] = config.display
    env.update(config.env)
    return env


def sandbox_user(config: DockerConfig) -> str:
    """uid:gid the code runs as: the workspace's owner (so its files stay theirs), never root."""
    if config.workspace:
        stat = Path(config.workspace).stat()
        if stat.st_uid != 0:
            return f"{stat.st_uid}:{stat.st_gid}"
    return SANDBOX_USER


def _host_config(api: Any, config: DockerConfig) -> Any:
    binds = {}
    if config.workspace:
        binds[str(Path(config.workspace).resolve())] = {"bind": WORKDIR, "mode": "rw"}
    if config.display:
        socket = x_socket(config.display)  # the one socket, not the folder: other displays stay hidden
        binds[socket] = {"bind": socket, "mode": "rw"}
    return api.create_host_config(
        network_mode="bridge" if config.network else "none",
        mem_limit=config.memory_mb * 1024 * 1024,
        memswap_limit=config.memory_mb * 1024 * 1024,  # equal to the memory: no swap to hide in
        nano_cpus=int(config.cpus * 1e9),
        pids_limit=config.pids,
        cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
        shm_size=config.shm_mb * 1024 * 1024,
        binds=binds or None,
        init=True,  # tini reaps the zombies a kernel's children leave behind
    )


def start_sandbox(config: DockerConfig) -> AttachTransport:
    """Create a container, attach, start it and send our code: a transport whose hello is unread."""
    from executors.docker.image import default_tag

    image = config.image or default_tag()
    api = docker_client.client(config.docker_host).api
    user = sandbox_user(config)
    with docker_errors(f"start a sandbox from image {image!r}"):
        created = api.create_container(
            image, ["python3", "-P", "-c", BOOT], user=user, working_dir=WORKDIR,
            environment=_environment(config, user), labels=docker_client.labels(), hostname="sandbox",
            # stdin_open without detach also sets StdinOnce: when our socket closes (even if this
            # process is killed) the agent reads end-of-input and exits
            stdin_open=True, tty=False, host_config=_host_config(api, config),
        )
        container_id = created["Id"]
        docker_client.track(api, container_id)
        try:
            # attach before start: nothing the agent writes can be missed
            sock = api.attach_socket(container_id, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
            api.start(container_id)
            raw = getattr(sock, "_sock", sock)
            raw.sendall(payload())  # our code, which the boot unpacks before serving
        except BaseException:
            docker_client.remove(api, container_id)
            raise
    return AttachTransport(api, container_id, raw, config.memory_mb)


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
            f"{chunk.content} (the sandbox ran out of memory: its limit is {self.config.memory_mb} MiB; "
            "use less memory or raise DockerConfig.memory_mb)"
        ))

    def sandbox(self) -> AttachTransport:
        """The running sandbox (its container id and Docker API), starting one if none runs."""
        with self.client.lock:
            transport = self.client.ensure()
        assert isinstance(transport, AttachTransport)
        return transport

    @property
    def files(self) -> SandboxFiles:
        """Copy files and folders into and out of the sandbox."""
        if self._files is None:
            from executors.docker.files import SandboxFiles

            self._files = SandboxFiles(self)
        return self._files
