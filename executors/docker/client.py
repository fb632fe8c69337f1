"""The process's Docker connection, sandbox labels, and cleanup of leftover sandboxes.

Every sandbox container carries labels naming the process that owns it, so a
crashed process's containers can be found and removed later (`lmc sandbox
prune`), and containers still open at interpreter exit are removed by an
atexit hook.
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import threading
from dataclasses import dataclass
from typing import Any

from executors.docker.errors import docker_errors, import_docker

log = logging.getLogger(__name__)

#: label present on every lmc sandbox container
LABEL = "lmc.sandbox"
#: label naming the owning process: "host:pid:start-time"
OWNER_LABEL = "lmc.owner"

_lock = threading.Lock()
_clients: dict[str | None, Any] = {}  # daemon URL (None: the environment's) -> client
_open: dict[str, Any] = {}  # id -> low-level API of the containers removed at exit if still open
_hooked = False


def client(base_url: str | None = None) -> Any:
    """The shared docker client for a daemon URL (None: DOCKER_HOST or the local socket), pinged once."""
    with _lock:
        if base_url not in _clients:
            docker = import_docker()
            where = base_url or os.environ.get("DOCKER_HOST") or "the local socket"
            with docker_errors(f"connect to Docker at {where}"):
                candidate = docker.DockerClient(base_url=base_url) if base_url else docker.from_env()
                candidate.ping()
            _clients[base_url] = candidate
        return _clients[base_url]


def _start_time(pid: int) -> str | None:
    """The kernel's start time of a process (Linux), telling a live pid from a reused one."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    return stat.rsplit(b")", 1)[1].split()[19].decode()


def owner_id(pid: int | None = None) -> str:
    """This process's owner label value."""
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}:{pid}:{_start_time(pid) or '?'}"


def labels() -> dict[str, str]:
    """Labels for a new sandbox container owned by this process."""
    return {LABEL: "1", OWNER_LABEL: owner_id()}


def owner_alive(owner: str) -> bool | None:
    """Whether the process named by an owner label lives; None when it is on another host."""
    host, _, rest = owner.partition(":")
    pid_text, _, start = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return None
    now = _start_time(int(pid_text))
    return now is not None and (start in ("?", now))


def track(api: Any, container_id: str) -> None:
    """Remember an open container so it is removed if the process exits with it open."""
    global _hooked
    with _lock:
        _open[container_id] = api
        if not _hooked:
            atexit.register(remove_open)
            _hooked = True


def untrack(container_id: str) -> None:
    """Forget a container that was removed."""
    with _lock:
        _open.pop(container_id, None)


def remove(api: Any, container_id: str) -> None:
    """Kill and remove a container with its anonymous volumes (a sandbox's tmpfs); one already gone is fine."""
    docker = import_docker()
    try:
        api.remove_container(container_id, force=True, v=True)
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as exc:
        if exc.status_code != 409:  # 409: removal already in progress
            log.warning("could not remove sandbox %s: %s", container_id[:12], exc)
    untrack(container_id)


def remove_open() -> None:
    """Remove every container this process still has open (runs at exit)."""
    with _lock:
        items = list(_open.items())
    for container_id, api in items:
        remove(api, container_id)


@dataclass(frozen=True)
class Leftover:
    """A sandbox container found by prune."""

    id: str  #: short container id
    owner: str  #: owner label, "host:pid:start"
    status: str  #: Docker's state, e.g. "running", "exited"
    stale: bool  #: whether it was to go (owner dead, or everything asked for)
    removed: bool  #: whether prune removed it


def prune(everything: bool = False, dry_run: bool = False, base_url: str | None = None) -> list[Leftover]:
    """Remove sandboxes whose owning process is dead (every sandbox if `everything`)."""
    found = []
    docker = client(base_url)
    with docker_errors("list sandbox containers"):
        containers = docker.containers.list(all=True, filters={"label": LABEL})
    for container in containers:
        owner = container.labels.get(OWNER_LABEL, "")
        dead = everything or owner_alive(owner) is False
        if dead and not dry_run:
            remove(docker.api, container.id)
        found.append(Leftover(container.short_id, owner, container.status, dead, dead and not dry_run))
    return found
