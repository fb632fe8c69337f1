"""A local agent killed outright (SIGKILL, as Ray's teardown kills its workers) takes its code with it."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from orchestrator.computer import Computer

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signals are Linux's")


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return None


def _running(pid: int) -> bool:
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"


@pytest.mark.parametrize("language, code", [
    ("python", "import os, time\nprint(os.getpid(), flush=True)\ntime.sleep(600)"),
    ("shell", "echo $$; sleep 600"),
])
def test_the_code_dies_when_its_agent_is_killed(language: str, code: str) -> None:
    computer = Computer("local")
    try:
        chunks = computer.run(language, code, stream=True)
        printed = ""
        for chunk in chunks:
            printed += chunk.content if isinstance(chunk.content, str) else ""
            if printed.endswith("\n") and printed.strip().isdigit():
                break
        kernel = int(printed.strip())
        fields = _stat(kernel)
        assert fields is not None
        agent = int(fields[1])  # the kernel's parent: the agent
        os.kill(agent, signal.SIGKILL)
        deadline = time.monotonic() + 30  # Linux sends the signal at once; the bound is for a loaded machine
        while _running(kernel):
            assert time.monotonic() < deadline, f"the {language} process {kernel} outlived its agent {agent}"
            time.sleep(0.05)
        chunks.close()
    finally:
        computer.close()
