"""A Ray address where nothing listens is a clear lmc error at once (Ray would wait ~35 s, then exit)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# in a fresh process: in this one Ray may already be initialised by another test module
JOIN = """
import sys
from orchestrator.ray.cluster import ensure_ray
from orchestrator.ray.errors import RayFailure
try:
    ensure_ray(sys.argv[1])
except RayFailure as exc:
    print(f"RayFailure: {exc}")
"""


def test_an_address_where_nothing_listens_is_a_ray_failure_naming_the_fix() -> None:
    with socket.socket() as held:  # a port that was just free: nothing listens on it
        held.bind(("127.0.0.1", 0))
        port = held.getsockname()[1]
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", JOIN, f"127.0.0.1:{port}"], capture_output=True, text=True,
                          cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=120)
    assert done.stdout.startswith(f"RayFailure: no Ray cluster answers at '127.0.0.1:{port}'"), done.stderr
    assert "`ray start --head`, or unset RAY_ADDRESS" in done.stdout
    assert time.monotonic() - started < 60  # Ray alone waited ~35 s, then exited the process (status 15)
