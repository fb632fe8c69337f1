"""Copy files and folders into and out of a docker sandbox, through Docker's archive API.

No shell runs in the sandbox for this: uploads are tars handed to `put_archive`
(owned by the sandbox user), downloads stream `get_archive` into a safe extract.
Relative sandbox paths are relative to the workspace folder.
"""

from __future__ import annotations

import io
import posixpath
import tarfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Protocol

from executors.docker.config import WORKDIR
from executors.docker.errors import HostPathNotFound, SandboxPathNotFound, docker_errors
from executors.docker.transport import AttachTransport

UID = GID = 1000


class HasSandbox(Protocol):
    """What the files need of an executor: its running sandbox (a DockerExecutor)."""

    def sandbox(self) -> AttachTransport:
        """The running sandbox, started if none runs."""
        ...


def sandbox_path(path: str) -> str:
    """An absolute, normalized sandbox path; relative ones are under the workspace."""
    return posixpath.normpath(posixpath.join(WORKDIR, path))


class _ChunkReader(io.RawIOBase):
    """A readable file over an iterator of byte chunks (Docker's archive stream)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._rest = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._rest:
            self._rest = next(self._chunks, b"")
            if not self._rest:
                return 0
        n = min(len(buffer), len(self._rest))
        buffer[:n] = self._rest[:n]
        self._rest = self._rest[n:]
        return n


def _own(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid, info.gid, info.uname, info.gname = UID, GID, "lmc", "lmc"
    info.mode &= 0o777  # no setuid/setgid bits from the host
    return info


def _parents(tar: tarfile.TarFile, folder: str) -> str:
    """Add workspace-relative parent folders to the tar; return where to extract it."""
    if not folder.startswith(WORKDIR + "/"):
        return folder  # outside the workspace the folder must exist: never re-own system folders
    parts = PurePosixPath(folder).relative_to(WORKDIR).parts
    for i in range(1, len(parts) + 1):
        info = _own(tarfile.TarInfo("/".join(parts[:i])))
        info.type, info.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(info)
    return WORKDIR


class SandboxFiles:
    """Files of one docker sandbox: upload, download, read and write."""

    def __init__(self, executor: HasSandbox) -> None:
        self.executor = executor

    def _put(self, folder: str, build: tarfile.TarFile, data: io.BytesIO, where: str) -> None:
        build.close()
        sandbox = self.executor.sandbox()
        with docker_errors(f"copy into the sandbox at {folder}",
                           missing=f"no folder {folder!r} in the sandbox; create it first "
                                   f"(e.g. run shell `mkdir -p {folder}`) or upload under {WORKDIR}"):
            sandbox.api.put_archive(sandbox.container_id, where, data.getvalue())

    def upload(self, source: str | Path, dest: str = ".") -> str:
        """Copy a host file or folder into the sandbox folder `dest`; return the copy's path."""
        source = Path(source)
        if not source.exists():
            raise HostPathNotFound(f"cannot upload {str(source)!r}: no such file or folder on this machine")
        folder = sandbox_path(dest)
        data = io.BytesIO()
        tar = tarfile.open(fileobj=data, mode="w")
        where = _parents(tar, folder)
        prefix = posixpath.relpath(folder, where)
        arcname = source.name if prefix == "." else f"{prefix}/{source.name}"
        tar.add(str(source), arcname=arcname, filter=_own)
        self._put(folder, tar, data, where)
        return posixpath.join(folder, source.name)

    def write(self, path: str, content: bytes) -> str:
        """Write bytes to a sandbox file (replacing it); return its absolute path."""
        target = sandbox_path(path)
        folder, name = posixpath.split(target)
        data = io.BytesIO()
        tar = tarfile.open(fileobj=data, mode="w")
        where = _parents(tar, folder)
        info = _own(tarfile.TarInfo(posixpath.relpath(target, where)))
        info.size, info.mode = len(content), 0o644
        tar.addfile(info, io.BytesIO(content))
        self._put(folder, tar, data, where)
        return target

    def _archive(self, path: str) -> Iterator[bytes]:
        target = sandbox_path(path)
        sandbox = self.executor.sandbox()
        with docker_errors(f"copy {target} out of the sandbox",
                           missing=f"no file or folder {target!r} in the sandbox"):
            stream, _ = sandbox.api.get_archive(sandbox.container_id, target)
            yield from stream

    def read(self, path: str) -> bytes:
        """The bytes of one sandbox file."""
        with tarfile.open(fileobj=_ChunkReader(self._archive(path)), mode="r|") as tar:
            for info in tar:
                extracted = tar.extractfile(info) if info.isfile() else None
                if extracted is None:
                    raise SandboxPathNotFound(
                        f"{sandbox_path(path)!r} in the sandbox is not a regular file; "
                        "use download() for folders"
                    )
                return extracted.read()
        raise SandboxPathNotFound(f"no file {sandbox_path(path)!r} in the sandbox")

    def download(self, source: str, dest: str | Path) -> Path:
        """Copy a sandbox file or folder into the host folder `dest` (made if missing); return the copy."""
        folder = Path(dest)
        folder.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=_ChunkReader(self._archive(source)), mode="r|") as tar:
            tar.extractall(folder, filter="data")  # "data": no paths outside dest, no devices
        return folder / posixpath.basename(sandbox_path(source))
