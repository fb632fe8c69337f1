"""The disk limit of a docker sandbox: a storage quota where the daemon has one, else read-only root and tmpfs.

Where the storage driver can cap a container's writable layer (overlay2 on xfs mounted with
`pquota`, btrfs, zfs), the sandbox gets `--storage-opt size=<disk_mb>M`: everything it writes
stays on disk, at most disk_mb in all. Elsewhere (overlay2 on ext4, the usual case) that option
is refused, so the root filesystem is made read-only and the only places the code can write,
/workspace (unless a host folder is mounted there), /tmp, /var/tmp and /home/lmc, are tmpfs
volumes of disk_mb each. Their files are in memory and count against memory_mb, so nothing
the code writes reaches the host's disk. Either way, code that writes too much gets ENOSPC ("No
space left on device") and the sandbox keeps working. Which one applies is found once per
daemon: the first sandbox asks for the quota and falls back if Docker refuses it.

The tmpfs places are anonymous volumes, not `--tmpfs` mounts, so Docker's archive API (the
`files` of an executor) reaches them; they are removed with their container.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from executors.docker.config import SANDBOX_HOME, SANDBOX_USER, WORKDIR, DockerConfig
from executors.docker.errors import DockerFailed, docker_errors, import_docker

log = logging.getLogger(__name__)

_lock = threading.Lock()
_quota: dict[str, bool] = {}  # daemon URL -> whether it can cap a container's writable layer


def quota_options(config: DockerConfig) -> dict[str, Any]:
    """create_host_config arguments for a storage quota of disk_mb on the writable layer."""
    return {"storage_opt": {"size": f"{config.disk_mb}M"}}


def tmpfs_options(config: DockerConfig) -> dict[str, Any]:
    """create_host_config arguments for a read-only root whose writable places are tmpfs of disk_mb each."""
    docker = import_docker()
    uid, gid = SANDBOX_USER.split(":")
    owned = f"uid={uid},gid={gid},mode=0755"
    places = {"/tmp": "mode=1777", "/var/tmp": "mode=1777", SANDBOX_HOME: owned}
    if not config.workspace:
        places[WORKDIR] = owned
    mounts = [
        docker.types.Mount(path, None, type="volume", driver_config=docker.types.DriverConfig("local", {
            "type": "tmpfs", "device": "tmpfs", "o": f"size={config.disk_mb}m,{options},nosuid,nodev"}))
        for path, options in places.items()
    ]
    return {"read_only": True, "mounts": mounts}


def with_quota(api: Any, create: Callable[[bool], str]) -> tuple[str, bool]:
    """Create a container with `create(quota)`, asking for a storage quota unless this daemon refused one.

    Returns the container id and whether the quota applies. The answer is remembered per daemon
    URL: the first container asks, later ones know. A refused quota is retried once without it;
    if that fails too, its error is the one raised (it is the real problem).
    """
    key = str(getattr(api, "base_url", ""))
    known = _quota.get(key)
    if known is False:
        return create(False), False
    try:
        container_id = create(True)
    except DockerFailed as exc:
        if known:
            raise
        # overlay2 on anything but xfs with pquota refuses a size
        log.info("no storage quota on this Docker daemon (%s)", exc)
        container_id = create(False)
        with _lock:
            _quota[key] = False
        return container_id, False
    with _lock:
        _quota[key] = True
    return container_id, True


def create_limited(api: Any, what: str, create: Callable[[dict[str, Any]], str], config: DockerConfig) -> str:
    """Create a sandbox with `create(host options)`: a storage quota if the daemon has one, else tmpfs."""

    def attempt(quota: bool) -> str:
        with docker_errors(what):
            return create(quota_options(config) if quota else tmpfs_options(config))

    container_id, quota = with_quota(api, attempt)
    if not quota:
        log.info("sandboxes on this daemon get a read-only root and tmpfs of %d MB", config.disk_mb)
    return container_id
