"""The product's one `ray.init`: join RAY_ADDRESS's (or the given) cluster, or start a local one."""

from __future__ import annotations

import os
from types import ModuleType


def ensure_ray(address: str | None = None) -> ModuleType:
    """ray, initialized once for this process (Ray imported here, on first use); returns the module."""
    import ray

    if not ray.is_initialized():
        # Why setdefault: a local cluster started here needs no token; a user's own RAY_AUTH_MODE still wins.
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    return ray
