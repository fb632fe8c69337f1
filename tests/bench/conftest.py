"""Fixtures for the fleet and harness tests: task folders written on the fly, run configs."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

# Set before litellm is first imported anywhere in the test session: no network for the price map.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

TEST_SH = """#!/bin/bash
cd "${APP_DIR:-/app}"
OUT="${LOGS_DIR:-/logs}/verifier"; mkdir -p "$OUT"
if [ "$(cat done.txt 2>/dev/null)" = "ok" ]; then echo 1 > "$OUT/reward.txt"; else echo 0 > "$OUT/reward.txt"; fi
"""

#: the environment of the tasks written here: lmc's sandbox image, as root in /app like a TB2 image
DOCKERFILE = "FROM lmc-sandbox:latest\nUSER root\nWORKDIR /app\n"


def write_task(root: Path, name: str, solve: str = "echo ok > done.txt", toml: str | None = None,
               test: str = TEST_SH, instruction: str = "Write ok to done.txt.") -> Path:
    """A small valid task folder under root; parts can be replaced to break it."""
    folder = root / name
    (folder / "tests").mkdir(parents=True)
    (folder / "solution").mkdir()
    (folder / "environment").mkdir()
    (folder / "environment" / "Dockerfile").write_text(DOCKERFILE)
    (folder / "task.toml").write_text(toml if toml is not None else
                                      '[metadata]\ncategory = "probe"\n[agent]\ntimeout_sec = 60\n')
    (folder / "instruction.md").write_text(instruction)
    (folder / "tests" / "test.sh").write_text(test)
    (folder / "solution" / "solve.sh").write_text('cd "${APP_DIR:-/app}"\n' + solve + "\n")
    return folder


@pytest.fixture
def task_factory(tmp_path: Path) -> Callable[..., Path]:
    """write_task into a fresh suite folder (tmp_path/suite)."""
    suite = tmp_path / "suite"
    suite.mkdir()

    def make(name: str, **parts: str) -> Path:
        return write_task(suite, name, **parts)

    return make


@pytest.fixture
def no_python_base() -> str:
    """A local base image with no Python and no Debian: busybox and a static bash."""
    from tests.support.docker_backend import require_docker

    require_docker()
    from tests.support.bases import bare_base

    return bare_base()
