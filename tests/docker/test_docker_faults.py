"""Faults: a container killed mid-run, a missing image, a daemon that is down, leftovers of dead processes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from executors.docker import client as docker_client
from executors.docker.errors import DockerUnavailable, InvalidDockerConfig
from executors.docker.executor import DockerConfig, DockerExecutor
from executors.docker.transport import explain_state
from orchestrator.computer import Computer
from tests.contract.helpers import errors, text

pytestmark = pytest.mark.docker

Make = Callable[..., Computer]
ROOT = Path(__file__).resolve().parents[2]


def test_container_killed_mid_run_says_why_and_next_run_is_fresh(make_computer: Make) -> None:
    computer = make_computer()
    computer.run("python", "kept = 1")
    executor = computer.executor
    assert isinstance(executor, DockerExecutor)
    container_id = executor.sandbox().container_id
    api = docker_client.client().api
    threading.Timer(1.0, api.kill, args=(container_id,)).start()
    messages = computer.run("python", "import time\nprint('working', flush=True)\ntime.sleep(30)")
    (kind, message), = errors(messages)
    assert kind == "sandbox"
    assert "killed (SIGKILL)" in message and "state" in message and "lost" in message
    assert "NameError" in text(computer.run("python", "kept"))  # a fresh sandbox, as it said
    assert executor.sandbox().container_id != container_id


def test_container_out_of_memory_is_named() -> None:
    state = {"OOMKilled": True, "ExitCode": 137, "Running": False}
    said = explain_state(state, "abc", 256)
    assert "out of memory" in said and "256 MiB" in said
    assert explain_state({"ExitCode": 3}, "abc", 256) == "exited with status 3 (container abc)"


def test_missing_image_says_how_to_build_it(make_computer: Make) -> None:
    computer = make_computer(DockerConfig(image="lmc-sandbox:not-built"))
    messages = list(computer.executor.run("python", "print(1)"))
    assert [m.format for m in messages] == ["sandbox"]
    said = str(messages[0].content)
    assert "lmc image build" in said and "lmc-sandbox:not-built" in said


def test_daemon_down_gives_one_clear_error(tmp_path: Path) -> None:
    executor = DockerExecutor(DockerConfig(docker_host=f"unix://{tmp_path}/no-docker.sock"))
    with pytest.raises(DockerUnavailable) as caught:
        executor.sandbox()
    assert "start the daemon" in str(caught.value) and "no-docker.sock" in str(caught.value)
    (chunk,) = list(executor.run("python", "print(1)"))
    assert chunk.format == "sandbox" and "start the daemon" in str(chunk.content)


@pytest.mark.parametrize(
    "config,fix",
    [
        (lambda: DockerConfig(memory_mb=4), "memory_mb must be at least 16"),
        (lambda: DockerConfig(cpus=0), "cpus must be above 0"),
        (lambda: DockerConfig(workspace="/"), "root or Docker socket"),
        (lambda: DockerConfig(workspace="/no/such/folder"), "create it first"),
    ],
)
def test_bad_config_is_refused_with_the_fix(config: Callable[[], DockerConfig], fix: str) -> None:
    with pytest.raises(InvalidDockerConfig) as caught:
        config()
    assert fix in str(caught.value)


def test_unset_forwarded_variable_is_named(make_computer: Make) -> None:
    os.environ.pop("LMC_SURELY_UNSET", None)
    computer = make_computer(DockerConfig(forward_env=("LMC_SURELY_UNSET",)))
    (chunk,) = list(computer.executor.run("python", "print(1)"))
    assert "LMC_SURELY_UNSET" in str(chunk.content) and "forward_env" in str(chunk.content)


CHILD = textwrap.dedent("""
    import os, sys
    sys.path.insert(0, sys.argv[1])
    from executors.docker.executor import DockerExecutor
    executor = DockerExecutor()
    print(executor.sandbox().container_id, flush=True)
    if sys.argv[2] == "crash":
        os._exit(1)  # no atexit hooks: leaves its sandbox behind
""")


def _child(mode: str) -> str:
    command = [sys.executable, "-c", CHILD, str(ROOT), mode]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip(), done.stderr
    return done.stdout.strip()


def _exists(container_id: str) -> bool:
    return bool(docker_client.client().containers.list(all=True, filters={"id": container_id}))


def test_sandbox_removed_at_process_exit() -> None:
    assert not _exists(_child("exit"))


def test_prune_removes_leftovers_of_dead_processes_only(make_computer: Make) -> None:
    mine = make_computer()
    mine.run("python", "1")
    assert isinstance(mine.executor, DockerExecutor)
    live_id = mine.executor.sandbox().container_id
    dead_id = _child("crash")
    assert _exists(dead_id)
    found = {leftover.id: leftover for leftover in docker_client.prune()}
    assert found[dead_id[:12]].removed and not _exists(dead_id)
    assert not found[live_id[:12]].removed and _exists(live_id)
