"""How to start a task container, and what an exec in it returns."""

from __future__ import annotations

from dataclasses import dataclass, field

from executors.docker.config import x_socket
from executors.docker.errors import InvalidDockerConfig


@dataclass(frozen=True)
class TaskContainerConfig:
    """A task image run as Harbor runs it: its USER and WORKDIR, Docker's default capabilities."""

    image: str  #: the task's image (built from its environment/Dockerfile, or its docker_image)
    user: str | None = None  #: user of the container's processes; None for the image's USER
    #: user lmc's agent runs as ("user[:group]", as `docker exec --user` takes it); None for `user`
    agent_user: str | None = None
    #: start the agent with the container, for its first TaskExecutor (no `docker exec` to wait for);
    #: False for a container only exec'd into, such as a separate verifier's
    start_agent: bool = True
    workdir: str | None = None  #: working directory; None for the image's WORKDIR
    env: dict[str, str] = field(default_factory=dict)  #: variables added to the image's
    network: bool = True  #: a network (bridge), as Harbor's allow_internet defaults; False for none
    cpus: float = 1.0  #: CPU limit, in cores
    memory_mb: int = 2048  #: memory limit, swap included
    #: writable-layer size limit; applied only where the daemon's storage driver supports it
    #: (TaskContainer.notes says when it is not), None for none
    storage_mb: int | None = 10240
    pids: int | None = 4096  #: most processes and threads at once (a fork bomb's bound); None for none
    docker_host: str | None = None  #: Docker daemon URL; None for DOCKER_HOST or the local socket
    #: X display (e.g. ":101") whose socket is mounted so GUI programs draw on it
    display: str | None = None
    labels: dict[str, str] = field(default_factory=dict)  #: labels added to lmc's own

    def __post_init__(self) -> None:
        if not self.image:
            raise InvalidDockerConfig("TaskContainerConfig.image is empty; name the task's image")
        if self.cpus <= 0:
            raise InvalidDockerConfig(f"TaskContainerConfig.cpus must be above 0; got {self.cpus!r}")
        for name, low in (("memory_mb", 16), ("storage_mb", 1), ("pids", 16)):
            value = getattr(self, name)
            if value is not None and value < low:
                raise InvalidDockerConfig(f"TaskContainerConfig.{name} must be at least {low}; got {value!r}")
        if self.display is not None:
            x_socket(self.display)


@dataclass(frozen=True)
class ExecResult:
    """How a command run by TaskContainer.exec ended, and all it wrote."""

    exit_code: int  #: its status (124 when its time ran out, 128 + N when signal N ended it)
    stdout: bytes
    stderr: bytes
    timed_out: bool = False  #: it ran past its timeout and its session was killed
