"""The product's one `ray.init`: join RAY_ADDRESS's (or the given) cluster, or start a local one."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from types import ModuleType

from orchestrator.ray.errors import RayFailure

#: seconds to wait for a TCP answer from a cluster's address before saying nothing listens there
PROBE_TIMEOUT = 5.0
#: seconds the head (GCS) may be unreachable before the cluster counts as lost: a GCS restarted by
#: Ray's own fault tolerance comes back within this; Ray's raylets give up on it after 60 s
HEAD_GRACE = 15.0


def ensure_ray(address: str | None = None) -> ModuleType:
    """ray, initialized once for this process (Ray imported here, on first use); returns the module.

    A `host:port` address where nothing listens is a RayFailure at once: Ray itself would wait
    about 30 s and then exit the whole process. A local Ray started here offers LOCAL_DISPLAYS
    screens (the `display` resource device actors take): this machine hosts OS-mode desktops.
    Without Ray installed it is a RayFailure saying how to install it.
    """
    try:
        import ray
    except ImportError as exc:
        raise RayFailure(f"Ray is not installed here ({exc}); install it with: pip install 'lmc[ray]'") from None

    if not ray.is_initialized():
        if address is not None:
            _probe(address)
        # Why setdefault: a local cluster started here needs no token; a user's own RAY_AUTH_MODE still wins.
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")
        if address is None and not os.environ.get("RAY_ADDRESS"):  # maybe starting one here
            from orchestrator.ray.placement import DISPLAY_RESOURCE, LOCAL_DISPLAYS

            try:
                ray.init(include_dashboard=False, log_to_driver=False, resources={DISPLAY_RESOURCE: LOCAL_DISPLAYS})
                return ray
            except ValueError as exc:  # a cluster `ray start`ed on this machine: joined, it declares its own
                if "existing cluster" not in str(exc):
                    raise
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    return ray


def _probe(address: str) -> None:
    """RayFailure when `address` is host:port and nothing answers there ("auto", "ray://..." are Ray's)."""
    host, _, port = address.rpartition(":")
    if not host or "://" in address or not port.isdigit():
        return
    try:
        socket.create_connection((host, int(port)), timeout=PROBE_TIMEOUT).close()
    except OSError as exc:
        raise RayFailure(
            f"no Ray cluster answers at {address!r} ({exc.strerror or exc}); start one there with "
            "`ray start --head`, or unset RAY_ADDRESS to start a local Ray") from None


def cluster_lost(grace: float = HEAD_GRACE) -> str | None:
    """Why the Ray cluster this process joined is gone, or None while it answers.

    Gone: this node's raylet no longer takes connections (its node died, as the head's does with
    the head), or the head's GCS has not taken a TCP connection for `grace` seconds. Bounded:
    at most about `grace` + PROBE_TIMEOUT seconds, where Ray itself would hang or, after a
    minute, exit the process.
    """
    import ray
    from ray._private import worker as ray_worker  # Ray has no public handle on this node's raylet

    node = getattr(ray_worker.global_worker, "node", None)
    raylet = getattr(node, "raylet_socket_name", None)
    if isinstance(raylet, str) and raylet.startswith("/") and not _listening(raylet):
        try:  # not seen listening (or no /proc): connect, which the raylet logs, so only now
            with socket.socket(socket.AF_UNIX) as sock:
                sock.settimeout(PROBE_TIMEOUT)
                sock.connect(raylet)
        except OSError as exc:
            return f"this node's raylet is gone ({exc.strerror or exc})"
    gcs = ray.get_runtime_context().gcs_address
    host, _, port = gcs.rpartition(":")
    deadline = time.monotonic() + grace
    while True:
        try:
            socket.create_connection((host, int(port)), timeout=PROBE_TIMEOUT).close()
            return None
        except OSError as exc:
            if time.monotonic() >= deadline:
                return f"its head at {gcs} has not answered for {grace:.0f} s ({exc.strerror or exc})"
        time.sleep(1.0)


def _listening(path: str) -> bool:
    """Whether a Unix socket at `path` is listening, by Linux's socket table (no connection made)."""
    try:
        table = Path("/proc/net/unix").read_text()
    except OSError:
        return False
    # columns: Num RefCount Protocol Flags Type St Inode Path; Flags 00010000 is a listening socket
    return any(line.endswith(" " + path) and line.split()[3] == "00010000" for line in table.splitlines())
