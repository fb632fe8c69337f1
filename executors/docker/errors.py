"""Errors of the Docker backend, and the one place that maps the docker SDK's exceptions.

    SandboxError (executors.errors)
    ├── SandboxUnavailable
    │   ├── DockerUnavailable           docker SDK missing, or the daemon cannot be reached
    │   └── ImageMissing (LookupError)  the sandbox image is not built yet
    ├── DockerFailed                    the daemon refused or failed a request
    ├── ImageBuildFailed                the image recipe failed
    ├── AgentStartFailed                a sandbox started but its agent died before greeting
    └── SandboxPathNotFound (FileNotFoundError)  a path asked for is not in the sandbox
    ExecutorError (executors.errors)
    ├── InvalidDockerConfig (ValueError)       the caller's DockerConfig cannot work
    └── HostPathNotFound (FileNotFoundError)   a host file to upload does not exist
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from executors.errors import ExecutorError, SandboxError, SandboxUnavailable

START_HINT = (
    "start the daemon with `sudo systemctl start docker` (or `sudo dockerd &` where there is no "
    "systemd), install it with `sudo apt-get install docker.io` if `docker` is missing, and make "
    "sure your user may use /var/run/docker.sock (or set DOCKER_HOST)"
)


class DockerUnavailable(SandboxUnavailable):
    """The docker SDK is not installed or the Docker daemon cannot be reached."""


class ImageMissing(SandboxUnavailable, LookupError):
    """The sandbox image is not present; `lmc image build` makes it."""


class DockerFailed(SandboxError):
    """The Docker daemon refused or failed a request."""


class ImageBuildFailed(SandboxError):
    """Building the sandbox image from its recipe failed."""


class AgentStartFailed(SandboxError):
    """A sandbox container started, but the agent in it died before greeting."""


class SandboxPathNotFound(SandboxError, FileNotFoundError):
    """A file or folder asked for does not exist in the sandbox."""


class InvalidDockerConfig(ExecutorError, ValueError):
    """A DockerConfig value cannot work; the message says which and how to fix it."""


class HostPathNotFound(ExecutorError, FileNotFoundError):
    """A host file or folder given to upload does not exist."""


def import_docker() -> Any:
    """The docker SDK module, imported lazily; DockerUnavailable says how to install it."""
    try:
        import docker
    except ImportError as exc:
        raise DockerUnavailable(
            f"the docker sandbox needs the docker SDK, which is not installed ({exc}); "
            "install it with `pip install 'lmc[docker]'`"
        ) from exc
    return docker


@contextmanager
def docker_errors(action: str, missing: str | None = None) -> Iterator[None]:
    """Turn the docker SDK's exceptions raised while doing `action` into ours.

    `missing`, when given, is the message of the SandboxPathNotFound raised for a 404
    that is not about an image.
    """
    docker = import_docker()
    import requests  # a dependency of the docker SDK: its transport errors surface as these

    errors = docker.errors
    try:
        yield
    except errors.ImageNotFound as exc:
        raise ImageMissing(
            f"cannot {action}: the sandbox image is not present ({exc.explanation}); "
            "build it with `lmc image build`"
        ) from exc
    except errors.NotFound as exc:
        if missing is not None:
            raise SandboxPathNotFound(missing) from exc
        raise DockerFailed(f"cannot {action}: Docker said {exc.explanation or exc}") from exc
    except errors.APIError as exc:
        raise DockerFailed(f"cannot {action}: Docker said {exc.explanation or exc}") from exc
    except (errors.DockerException, requests.exceptions.RequestException) as exc:
        raise DockerUnavailable(
            f"cannot {action}: the Docker daemon is not reachable ({exc}); {START_HINT}"
        ) from exc
