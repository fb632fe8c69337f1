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

from executors.docker_errors import docker_errors, import_docker

log = logging.getLogger(__name__)

#: label present on every lmc sandbox container
LABEL = "lmc.sandbox"
#: label naming the owning process: "host:pid:start-time"
OWNER_LABEL = "lmc.owner"

_lock = threading.Lock()
_client: Any = None
_open: set[str] = set()  # ids of containers removed at exit if still open
_hooked = False


def client() -> Any:
    """The shared docker client, connected and pinged once per process."""
    global _client
    with _lock:
        if _client is None:
            docker = import_docker()
            with docker_errors("connect to Docker"):
                candidate = docker.from_env()
                candidate.ping()
            _client = candidate
        return _client


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


def track(container_id: str) -> None:
    """Remember an open container so it is removed if the process exits with it open."""
    global _hooked
    with _lock:
        _open.add(container_id)
        if not _hooked:
            atexit.register(remove_open)
            _hooked = True


def untrack(container_id: str) -> None:
    """Forget a container that was removed."""
    with _lock:
        _open.discard(container_id)


def remove(container_id: str) -> None:
    """Kill and remove a container; one already gone is fine."""
    docker = import_docker()
    try:
        client().api.remove_container(container_id, force=True)
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as exc:
        if exc.status_code != 409:  # 409: removal already in progress
            log.warning("could not remove sandbox %s: %s", container_id[:12], exc)
    untrack(container_id)


def remove_open() -> None:
    """Remove every container this process still has open (runs at exit)."""
    with _lock:
        ids = list(_open)
    for container_id in ids:
        remove(container_id)


@dataclass(frozen=True)
class Leftover:
    """A sandbox container found by prune."""

    id: str  #: short container id
    owner: str  #: owner label, "host:pid:start"
    status: str  #: Docker's state, e.g. "running", "exited"
    removed: bool  #: whether prune removed it


def prune(everything: bool = False, dry_run: bool = False) -> list[Leftover]:
    """Remove sandboxes whose owning process is dead (every sandbox if `everything`)."""
    found = []
    with docker_errors("list sandbox containers"):
        containers = client().containers.list(all=True, filters={"label": LABEL})
    for container in containers:
        owner = container.labels.get(OWNER_LABEL, "")
        dead = everything or owner_alive(owner) is False
        if dead and not dry_run:
            remove(container.id)
        found.append(Leftover(container.short_id, owner, container.status, dead and not dry_run))
    return found
