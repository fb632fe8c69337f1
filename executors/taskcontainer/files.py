"""Files in and out of a task container through Docker's archive API: no shell, no program of the image.

Uploads are tars handed to `put_archive` at "/", their entries owned as asked
(root by default, as `docker cp` leaves them); missing parent folders are made
by Docker. Downloads stream `get_archive` into a safe extract.
"""

from __future__ import annotations

import io
import logging
import posixpath
import tarfile
import time
from pathlib import Path
from typing import Any

from executors.docker.errors import HostPathNotFound, InvalidDockerConfig, SandboxPathNotFound, docker_errors
from executors.docker.files import _ChunkReader

log = logging.getLogger(__name__)

#: symbolic links followed by read_file before giving up (a loop)
MAX_LINKS = 8


class ContainerFiles:
    """The archive-API file operations of one container."""

    def __init__(self, api: Any, container_id: str, workdir: str) -> None:
        self.api = api
        self.container_id = container_id
        self.workdir = workdir  #: what relative container paths are relative to

    def path(self, path: str) -> str:
        """An absolute, normalized container path."""
        return posixpath.normpath(posixpath.join(self.workdir, path))

    # -- owners ----------------------------------------------------------------------
    def owner_ids(self, owner: str | None) -> tuple[int, int]:
        """(uid, gid) for "user[:group]" (names or numbers), looked up in the image's own files."""
        if owner is None:
            return 0, 0
        user, _, group = owner.partition(":")
        uid, primary = self._lookup("/etc/passwd", user, owner)
        if group:
            gid = self._lookup("/etc/group", group, owner)[0]
        else:
            gid = primary if primary is not None else 0  # as Docker does for a uid it does not know
        return uid, gid

    def _lookup(self, table: str, name: str, owner: str) -> tuple[int, int | None]:
        text = (self.read_file(table) or b"").decode("utf-8", "replace")
        for line in text.splitlines():
            fields = line.split(":")
            if len(fields) >= 4 and name in (fields[0], fields[2]) and fields[2].isdigit():
                return int(fields[2]), int(fields[3]) if fields[3].isdigit() else None
        if name.isdigit():
            return int(name), None
        raise InvalidDockerConfig(
            f"owner {owner!r}: {name!r} is not in the container's {table}; give a name it has, or numbers (uid:gid)"
        )

    # -- uploads ---------------------------------------------------------------------
    def _put(self, tar_bytes: bytes, dest: str) -> None:
        with docker_errors(f"copy into the task container at {dest}"):
            self.api.put_archive(self.container_id, "/", tar_bytes)

    def put_folder(self, local_dir: str | Path, dest: str, owner: str | None = None) -> str:
        """Copy a host folder to `dest` in the container (made, with its parents); return dest."""
        source = Path(local_dir)
        if not source.is_dir():
            raise HostPathNotFound(f"cannot upload {str(source)!r}: no such folder on this machine")
        target = self.path(dest)
        uid, gid = self.owner_ids(owner)

        def own(info: tarfile.TarInfo) -> tarfile.TarInfo:
            info.uid, info.gid, info.uname, info.gname = uid, gid, "", ""
            info.mode &= 0o777  # no setuid bits from the host
            return info

        data = io.BytesIO()
        with tarfile.open(fileobj=data, mode="w") as tar:
            tar.add(str(source), arcname=target.lstrip("/") or ".", filter=own)
        self._put(data.getvalue(), target)
        return target

    def put_tree(self, entries: dict[str, tuple[int, bytes | None]]) -> None:
        """Write several files and folders in one archive call: path -> (mode, bytes, or None for a folder).

        Everything is owned by root; parents are listed before their children by the caller.
        """
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w") as tar:
            for path, (mode, data) in entries.items():
                info = tarfile.TarInfo(self.path(path).lstrip("/"))
                info.mode, info.mtime = mode & 0o7777, int(time.time())
                if data is None:
                    info.type = tarfile.DIRTYPE
                    tar.addfile(info)
                else:
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
        self._put(out.getvalue(), "/")

    def put_bytes(self, path: str, data: bytes, mode: int = 0o644, owner: str | None = None) -> str:
        """Write bytes to a container file (replacing it; parents made); return its path."""
        target = self.path(path)
        uid, gid = self.owner_ids(owner)
        info = tarfile.TarInfo(target.lstrip("/"))
        info.size, info.mode, info.uid, info.gid = len(data), mode & 0o777, uid, gid
        info.mtime = int(time.time())
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w") as tar:
            tar.addfile(info, io.BytesIO(data))
        self._put(out.getvalue(), target)
        return target

    # -- downloads -------------------------------------------------------------------
    def _archive(self, path: str) -> tarfile.TarFile:
        with docker_errors(f"copy {path} out of the task container",
                           missing=f"no file or folder {path!r} in the task container"):
            stream, _ = self.api.get_archive(self.container_id, path)
        return tarfile.open(fileobj=_ChunkReader(iter(stream)), mode="r|")

    def read_file(self, path: str) -> bytes | None:
        """A container file's bytes (symbolic links followed); None when there is no such file."""
        target = self.path(path)
        for _ in range(MAX_LINKS):
            try:
                tar = self._archive(target)
            except SandboxPathNotFound:
                return None
            with tar:
                info = tar.next()
                if info is None:
                    return None
                if info.issym():
                    target = posixpath.normpath(posixpath.join(posixpath.dirname(target), info.linkname))
                    continue
                extracted = tar.extractfile(info) if info.isfile() else None
                if extracted is None:
                    raise SandboxPathNotFound(f"{target!r} in the task container is not a regular file")
                return extracted.read()
        raise SandboxPathNotFound(f"{self.path(path)!r} in the task container is a loop of symbolic links")

    def get_folder(self, path: str, host_dest: str | Path) -> Path:
        """Copy what a container folder holds into a host folder (made if missing); return it.

        Entries that would land outside host_dest (absolute or climbing links) are skipped.
        """
        folder = Path(host_dest)
        folder.mkdir(parents=True, exist_ok=True)
        with self._archive(self.path(path)) as tar:
            for info in tar:
                top, _, rest = info.name.partition("/")
                if not rest:
                    if info.isfile():  # a file, not a folder, was asked for: it lands in host_dest
                        tar.extract(info, folder, filter="data")
                    continue
                info.name = rest
                if info.islnk():
                    info.linkname = info.linkname.partition("/")[2]
                try:
                    tar.extract(info, folder, filter="data")
                except tarfile.FilterError as exc:
                    log.warning("not copying %s out of the task container: %s", info.name, exc)
        return folder
