"""DockerConfig: how a docker sandbox is started; the defaults are the safe ones.

Light on purpose (no docker SDK): settings, the CLI and the fleet build one
without loading the backend; `DockerConfig(...).create()` makes the executor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol, Self

from executors.config import ExecutorConfig
from executors.docker.errors import InvalidDockerConfig


class Screen(Protocol):
    """A running X display on the host (devices.desktop.VirtualDesktop is one)."""

    @property
    def display(self) -> str:
        """Its name, e.g. ':101'."""

    def env(self) -> dict[str, str]:
        """DISPLAY (and XAUTHORITY) pointing a program at it."""

    def alive(self) -> bool:
        """Whether its X server still runs."""

    def close(self) -> None:
        """Stop it."""


class ScreenFactory(Protocol):
    """What starts a sandbox's own desktop (devices.desktop.DesktopConfig is one)."""

    def start(self) -> Screen:
        """A new display, started and ready."""

#: where the workspace folder is mounted, and the code's working directory
WORKDIR = "/workspace"
#: uid:gid the code runs as unless a workspace owned by someone else is mounted
SANDBOX_USER = "1000:1000"
#: the home folder of the sandbox user (uid 1000)
SANDBOX_HOME = "/home/lmc"
#: the host folder of X displays' sockets
X_SOCKETS = "/tmp/.X11-unix"


@dataclass(frozen=True)
class DockerConfig(ExecutorConfig):
    """How to start a docker sandbox; the defaults are the safe ones. `create()` makes a DockerExecutor.

    Disk: code writes at most `disk_mb` (beyond it, ENOSPC "No space left on device"). Where the
    Docker daemon can cap a container's size (overlay2 on xfs with pquota) that is one quota on
    disk; elsewhere the root filesystem is read-only and /workspace, /tmp, /var/tmp and /home/lmc
    are tmpfs of `disk_mb` each, whose files use the sandbox's memory (keep `disk_mb` below
    `memory_mb`). A host `workspace` is the host's folder: its own filesystem limits it.
    """

    backend = "docker"
    executor = "executors.docker.executor:DockerExecutor"
    extra = "docker"

    image: str | None = None  #: image to run; None for the recipe's image (`lmc image build`)
    network: bool = False  #: give the sandbox a network (bridge); off by default
    memory_mb: int = 1024  #: memory limit, swap included
    cpus: float = 1.0  #: CPU limit, in cores
    pids: int = 256  #: most processes and threads at once (contains fork bombs)
    #: MiB the code may write (a quota, or each tmpfs place; see above); more gets ENOSPC
    disk_mb: int = 512
    #: host folder mounted read-write at /workspace, the only host mount; code runs as its owner
    #: (uid 1000 if root owns it, so then uid 1000 needs access to it)
    workspace: str | None = None
    env: dict[str, str] = field(default_factory=dict)  #: variables set in the sandbox
    forward_env: tuple[str, ...] = ()  #: names of host variables copied in (none are by default)
    shm_mb: int = 64  #: size of /dev/shm
    docker_host: str | None = None  #: Docker daemon URL; None for DOCKER_HOST or the local socket
    #: X display (e.g. ":101") whose socket is mounted so GUI programs in the sandbox draw on it
    display: str | None = None
    #: a virtual desktop of the sandbox's own, e.g. devices.desktop.DesktopConfig(): an Xvfb (and its
    #: window manager) started on the host with the sandbox and stopped with it; only its X socket is
    #: mounted. A Computer on this sandbox drives it as computer.display / mouse / keyboard / clipboard
    desktop: ScreenFactory | None = None

    def __post_init__(self) -> None:
        for name, low in (("memory_mb", 16), ("pids", 16), ("shm_mb", 1), ("disk_mb", 16)):
            if getattr(self, name) < low:
                raise InvalidDockerConfig(
                    f"DockerConfig.{name} must be at least {low}; got {getattr(self, name)!r}"
                )
        if self.cpus <= 0:
            raise InvalidDockerConfig(f"DockerConfig.cpus must be above 0; got {self.cpus!r}")
        if self.workspace is not None:
            _check_workspace(self.workspace)
        if self.display is not None:
            if self.desktop is not None:
                raise InvalidDockerConfig(
                    f"DockerConfig got both display={self.display!r} and a desktop; give display to draw on "
                    "an X server that runs already, or desktop for a new one of the sandbox's own"
                )
            x_socket(self.display)

    def with_env(self, env: Mapping[str, str]) -> Self:
        """This config with `env` added to the sandbox's environment variables."""
        return replace(self, env={**self.env, **env})


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
