"""The disk limit of docker sandboxes: writing past it is ENOSPC for the code, never the host's disk."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest

from executors.docker import client as docker_client
from executors.docker.errors import InvalidDockerConfig
from executors.docker.executor import DockerConfig, DockerExecutor
from orchestrator.computer import Computer
from tests.contract.helpers import text

pytestmark = pytest.mark.docker

Make = Callable[..., Computer]
LIMIT_MB = 64
#: what the code tries to write: 16 times the limit
WRITE_MB = 1024

FILL = """
import errno, os
path = {path!r}
written = 0
block = b"x" * (1 << 20)
try:
    with open(path, "wb") as f:
        for _ in range({mb}):
            f.write(block)
            f.flush()
            written += 1
    print("no error after", written, "MiB")
except OSError as exc:
    print(errno.errorcode[exc.errno], exc.strerror, "after", written, "MiB")
finally:
    if os.path.exists(path):
        os.remove(path)
"""


def _inspect(computer: Computer) -> dict[str, Any]:
    executor = computer.executor
    assert isinstance(executor, DockerExecutor)
    sandbox = executor.sandbox()
    info: dict[str, Any] = sandbox.api.inspect_container(sandbox.container_id)
    return info


def _layer_bytes(computer: Computer) -> int:
    """What the sandbox wrote to its writable layer on the host's disk."""
    info = _inspect(computer)
    [listed] = docker_client.client().api.containers(all=True, size=True, filters={"id": info["Id"]})
    return int(listed.get("SizeRw") or 0)


def _host_free() -> int:
    docker_root = docker_client.client().info()["DockerRootDir"]
    stat = os.statvfs(docker_root)
    return stat.f_bavail * stat.f_frsize


@pytest.mark.parametrize("place", ["/workspace", "/tmp", "/home/lmc", "/var/tmp"])
def test_writing_far_past_the_limit_is_enospc_and_the_host_disk_is_untouched(make_computer: Make, place: str) -> None:
    computer = make_computer(DockerConfig(disk_mb=LIMIT_MB))
    assert text(computer.run("python", "print('up')")) == "up\n"
    free = _host_free()
    out = text(computer.run("python", FILL.format(path=f"{place}/big", mb=WRITE_MB), timeout=120))
    assert out.startswith("ENOSPC No space left on device after "), out
    assert int(out.split()[-2]) <= LIMIT_MB
    # the container's writable layer on the host got none of it (the old sandbox: the whole GiB)
    assert _layer_bytes(computer) < LIMIT_MB * 2**20
    # other work shares this disk: the bound is generous, yet far below the GiB the code asked for
    assert free - _host_free() < 512 * 2**20
    # the sandbox keeps working, and the space is free again once the file is gone
    assert text(computer.run("python", "print('still here')")) == "still here\n"
    again = text(computer.run("python", FILL.format(path=f"{place}/small", mb=LIMIT_MB // 2)))
    assert again == f"no error after {LIMIT_MB // 2} MiB\n"


def test_the_rest_of_the_filesystem_takes_no_writes(make_computer: Make) -> None:
    computer = make_computer(DockerConfig(disk_mb=LIMIT_MB))
    info = _inspect(computer)
    quota = (info["HostConfig"].get("StorageOpt") or {}).get("size")
    out = text(computer.run("shell", "touch /usr/local/x /opt/x /run/lock/x 2>&1 | sed 's/.*: //'; true"))
    if quota:  # a daemon with quotas: the root stays writable, the quota covers it, uid 1000 owns none of it
        assert out.count("Permission denied") == 3
    else:  # the usual case: a read-only root, the writable places are tmpfs
        assert info["HostConfig"]["ReadonlyRootfs"] is True
        assert out == "Read-only file system\n" * 3


def test_the_daemon_keeps_no_log_of_the_sandbox_channel(make_computer: Make) -> None:
    """The agent's stdout carries every output: a json-file log of it filled the host disk run after run."""
    computer = make_computer(DockerConfig())
    computer.run("python", "import sys\nfor i in range(20000): sys.stdout.write('x' * 100 + '\\n')")
    info = _inspect(computer)
    assert info["HostConfig"]["LogConfig"]["Type"] == "none"
    assert info["LogPath"] == ""


def test_the_tmpfs_volumes_go_with_their_sandbox(make_computer: Make) -> None:
    computer = make_computer(DockerConfig(disk_mb=LIMIT_MB))
    info = _inspect(computer)
    volumes = [m["Name"] for m in info["Mounts"] if m["Type"] == "volume"]
    api = docker_client.client().api
    computer.close()
    left = {v["Name"] for v in api.volumes().get("Volumes") or []}
    assert not set(volumes) & left


def test_a_host_workspace_is_the_hosts_folder_and_uploads_still_reach_every_place(
    make_computer: Make, tmp_path: Any
) -> None:
    os.chmod(tmp_path, 0o777)  # root's folder: the code runs as uid 1000, which must reach it
    computer = make_computer(DockerConfig(disk_mb=LIMIT_MB, workspace=str(tmp_path)))
    files = computer.executor.files  # type: ignore[attr-defined]
    files.write("/tmp/a.txt", b"tmp")
    files.write("/home/lmc/b.txt", b"home")
    files.write("c.txt", b"workspace")
    out = text(computer.run("shell", "cat /tmp/a.txt /home/lmc/b.txt /workspace/c.txt"))
    assert out == "tmphomeworkspace"
    assert (tmp_path / "c.txt").read_bytes() == b"workspace"


def test_a_disk_limit_below_16_mib_is_refused() -> None:
    with pytest.raises(InvalidDockerConfig, match=r"DockerConfig.disk_mb must be at least 16; got 4"):
        DockerConfig(disk_mb=4)
