"""Fixtures for docker tests: a real Docker engine and the sandbox image, and no leftovers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from executors.docker.executor import DockerConfig, DockerExecutor
from orchestrator.computer import Computer
from tests.support.docker_backend import own_containers, require_docker


@pytest.fixture(autouse=True)
def docker_ready() -> Iterator[None]:
    """Skip without Docker (fail under CI=true); after the test, no container of ours may remain."""
    require_docker()
    yield
    left = own_containers()
    assert not left, f"containers left behind: {[c.short_id for c in left]}"


@pytest.fixture
def make_computer() -> Iterator[Callable[..., Computer]]:
    """Make docker Computers with a given config; all are closed after the test."""
    made: list[Computer] = []

    def make(config: DockerConfig | None = None) -> Computer:
        computer = Computer(DockerExecutor(config or DockerConfig()))
        made.append(computer)
        return computer

    yield make
    for computer in made:
        computer.close()


# -- task container images: built locally (no registry), kept between runs ----------------------

BUSYBOX = "/bin/busybox"  # Debian's busybox-static (scripts/test installs it)


def _import_image(tag: str, files: dict[str, bytes | str], changes: list[str]) -> str:
    """`docker import` a root filesystem: {path: bytes (a file) | str (a symlink's target)}; "x/": a folder."""
    import io
    import tarfile

    from executors.docker import client as docker_client

    api = docker_client.client().api
    if api.images(name=tag):
        return tag
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        for path, content in sorted(files.items()):
            info = tarfile.TarInfo(path)
            if path.endswith("/"):
                info.type, info.mode = tarfile.DIRTYPE, 0o1777
                tar.addfile(info)
            elif isinstance(content, str):
                info.type, info.linkname = tarfile.SYMTYPE, content
                tar.addfile(info)
            else:
                info.size, info.mode = len(content), 0o755
                tar.addfile(info, io.BytesIO(content))
    api.import_image_from_data(data.getvalue(), repository=tag.partition(":")[0], tag=tag.partition(":")[2],
                               changes=changes)
    return tag


@pytest.fixture(scope="session")
def busybox_image() -> str:
    """An image with busybox alone: no python, no bash. USER 4321:4321, WORKDIR /srv/task."""
    import hashlib
    import subprocess
    from pathlib import Path

    require_docker()
    if not Path(BUSYBOX).is_file():
        pytest.skip(f"{BUSYBOX} is missing; install it with `apt-get install busybox-static`")
    binary = Path(BUSYBOX).read_bytes()
    applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True, check=True).stdout.split()
    files: dict[str, bytes | str] = {"bin/busybox": binary}
    files.update({f"bin/{name}": "busybox" for name in applets if name != "busybox"})
    files["tmp/"] = b""
    changes = ["USER 4321:4321", "WORKDIR /srv/task", "ENV PATH=/bin"]
    tag = f"lmc-test-busybox:{hashlib.sha256(binary + repr(changes).encode()).hexdigest()[:12]}"
    return _import_image(tag, files, changes)


@pytest.fixture(scope="session")
def bare_image() -> str:
    """An image with no program at all: one data file."""
    require_docker()
    return _import_image("lmc-test-bare:1", {"data/hello.txt": b"hello from a bare image\n"},
                         ["WORKDIR /data"])


@pytest.fixture(scope="session")
def debian_image() -> str:
    """The lmc sandbox image (Debian, python3 3.11, bash, nodejs): USER 1000:1000, WORKDIR /workspace."""
    from executors.docker.image import default_tag

    require_docker()
    return default_tag()


@pytest.fixture
def task_containers() -> Iterator[Callable[..., Any]]:
    """Start TaskContainers (TaskContainer.start(TaskContainerConfig(image, **options))); closed after the test."""
    from executors.taskcontainer import TaskContainer, TaskContainerConfig

    made: list[TaskContainer] = []

    def start(image: str, **options: Any) -> TaskContainer:
        container = TaskContainer.start(TaskContainerConfig(image=image, **options))
        made.append(container)
        return container

    yield start
    for container in reversed(made):
        container.close()
