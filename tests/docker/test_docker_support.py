"""The contract suite's docker hook: skip without Docker, but fail loudly under CI=true."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[2]
PROBE = "from tests.support.docker_backend import make_executor\nmake_executor()"


@pytest.mark.parametrize("ci,outcome", [("true", "Failed: CI=true but the docker backend is unavailable"),
                                        ("", "Skipped: cannot connect to Docker")])
def test_unavailable_docker_skips_or_fails_under_ci(tmp_path: Path, ci: str, outcome: str) -> None:
    env = {**os.environ, "CI": ci, "DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock"}
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60,
                          cwd=ROOT, env=env)
    assert done.returncode != 0
    assert outcome in done.stderr.splitlines()[-1]
