"""The product's one `ray.init`: join RAY_ADDRESS's (or the given) cluster, or start a local one."""

from __future__ import annotations

import os
import socket
from types import ModuleType

from orchestrator.ray.errors import RayFailure

#: seconds to wait for a TCP answer from a cluster's address before saying nothing listens there
PROBE_TIMEOUT = 5.0


def ensure_ray(address: str | None = None) -> ModuleType:
    """ray, initialized once for this process (Ray imported here, on first use); returns the module.

    A `host:port` address where nothing listens is a RayFailure at once: Ray itself would wait
    about 30 s and then exit the whole process.
    """
    import ray

    if not ray.is_initialized():
        if address is not None:
            _probe(address)
        # Why setdefault: a local cluster started here needs no token; a user's own RAY_AUTH_MODE still wins.
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")
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
