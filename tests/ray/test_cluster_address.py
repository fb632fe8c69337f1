"""A Ray address where nothing listens is a clear lmc error at once (Ray would wait ~30 s, then exit)."""

from __future__ import annotations

import socket
import time

import pytest

from orchestrator.ray.cluster import ensure_ray
from orchestrator.ray.errors import RayFailure


def test_an_address_where_nothing_listens_is_a_ray_failure_naming_the_fix() -> None:
    with socket.socket() as held:  # a port that was just free: nothing listens on it
        held.bind(("127.0.0.1", 0))
        port = held.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(RayFailure, match=rf"no Ray cluster answers at '127\.0\.0\.1:{port}' .*`ray start --head`"):
        ensure_ray(f"127.0.0.1:{port}")
    assert time.monotonic() - started < 20  # Ray alone took ~35 s and then exited the process
