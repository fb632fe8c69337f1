"""`lmc run --sandbox docker`, `lmc image status` and `lmc sandbox prune`, for real."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from executors.docker.client import owner_id
from executors.docker.executor import DockerExecutor
from executors.docker.image import default_tag
from orchestrator.cli import image as image_cli
from tests.support.docker_backend import own_containers

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[2]


def _lmc(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="lmc")
    image_cli.register(parser.add_subparsers())
    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code


def test_lmc_run_in_a_docker_sandbox() -> None:
    code = "import os; print(os.getuid())"
    command = [sys.executable, "-m", "orchestrator", "run", "--sandbox", "docker", "python", code]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert (done.returncode, done.stdout) == (0, "1000\n"), done.stderr


def test_image_status_names_the_recipe_tag(capsys: pytest.CaptureFixture[str]) -> None:
    assert _lmc("image", "status") == 0
    assert f"{default_tag()}: present" in capsys.readouterr().out


def test_sandbox_prune_keeps_sandboxes_of_live_processes(capsys: pytest.CaptureFixture[str]) -> None:
    with DockerExecutor() as executor:
        assert isinstance(executor, DockerExecutor)
        short_id = executor.sandbox().short_id
        assert _lmc("sandbox", "prune", "--dry-run") == 0
        assert _lmc("sandbox", "prune") == 0
        out = capsys.readouterr().out
        assert out.count(f"{short_id} running  owner {owner_id()}: kept (owner alive)") == 2
        assert [c.short_id for c in own_containers()] == [short_id]


def test_daemon_down_is_one_line_saying_how_to_start_it(tmp_path: Path) -> None:
    env = {**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock"}
    command = [sys.executable, "-m", "orchestrator.cli.image", "image", "status"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=ROOT, env=env)
    assert done.returncode == 3
    (line,) = done.stderr.splitlines()
    assert line.startswith("lmc: error: cannot connect to Docker at unix://") and "start the daemon" in line
