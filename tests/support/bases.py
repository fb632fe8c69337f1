"""Base images for task tests, built locally in a second (no registry): `docker import` of a tiny rootfs.

`bare_base()` is busybox plus a static bash: no Python, no dynamic loader, no
libc, nothing of Debian. lmc's agent must still run in it from its own
runtime, and Harbor's `bash /tests/test.sh` must still find a bash.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import tarfile
from pathlib import Path

import pytest

BUSYBOX, BASH = Path("/bin/busybox"), Path("/bin/bash-static")
REPOSITORY = "lmc-test/bare"


def _add(tar: tarfile.TarFile, name: str, *, data: bytes | None = None, mode: int = 0o755,
         link: str | None = None, folder: bool = False) -> None:
    info = tarfile.TarInfo(name)
    info.mode = mode
    if folder:
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
    elif link is not None:
        info.type, info.linkname = tarfile.SYMTYPE, link
        tar.addfile(info)
    else:
        assert data is not None
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))


def _rootfs() -> bytes:
    applets = subprocess.run([str(BUSYBOX), "--list"], capture_output=True, text=True, check=True).stdout.split()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for folder in ("bin", "etc", "tmp", "root", "app"):
            _add(tar, folder, folder=True, mode=0o1777 if folder == "tmp" else 0o755)
        _add(tar, "bin/busybox", data=BUSYBOX.read_bytes())
        _add(tar, "bin/bash", data=BASH.read_bytes())
        for applet in applets:
            if applet not in ("busybox", "bash"):
                _add(tar, f"bin/{applet}", link="busybox")
        _add(tar, "etc/passwd", data=b"root:x:0:0:root:/root:/bin/sh\n", mode=0o644)
        _add(tar, "etc/group", data=b"root:x:0:\n", mode=0o644)
    return buffer.getvalue()


def bare_base() -> str:
    """The tag of a busybox + static-bash image (built once per content); skips if the tools are missing."""
    if not (BUSYBOX.is_file() and BASH.is_file()):
        pytest.skip("needs busybox-static and bash-static: apt-get install busybox-static bash-static")
    from executors.docker import client as docker_client

    data = _rootfs()
    tag = hashlib.sha256(data).hexdigest()[:12]
    api = docker_client.client().api
    if not api.images(name=f"{REPOSITORY}:{tag}"):
        api.import_image_from_data(data, repository=REPOSITORY, tag=tag)
    return f"{REPOSITORY}:{tag}"
