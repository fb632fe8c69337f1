"""Failures in a fleet: a killed sandbox is infrastructure (classified, retried, reported), budgets are the model's."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from benchmarks.harness import results
from benchmarks.harness.report import write_report
from benchmarks.harness.runner import RunConfig, run_bench
from devices.desktop import DesktopConfig
from lmc.assembly import assemble
from lmc.codec import decode_chunk
from lmc.framing import read_frame
from lmc.messages import Message
from orchestrator.fleet.errors import FleetConfigError
from orchestrator.fleet.fleet import Budget, Fleet, FleetConfig, SessionSpec
from orchestrator.fleet.sandbox import SandboxConfig
from orchestrator.models.scripted_server import ScriptedServer, text, tool_call
from orchestrator.settings import Settings

MARK = "4.713"  # a sleep length no other process on the machine uses


def remove_sandbox_once(stop: threading.Event) -> list[str]:
    """In a thread: when a container runs `sleep MARK`, remove it from outside (docker rm -f), once."""
    import docker

    api = docker.from_env().api
    removed: list[str] = []

    def running_mark(container_id: str) -> bool:
        try:
            return any(f"sleep {MARK}" in " ".join(p) for p in api.top(container_id).get("Processes") or [])
        except docker.errors.APIError:  # a container that stopped meanwhile
            return False

    def watch() -> None:
        while not stop.is_set() and not removed:
            for container in api.containers():
                if running_mark(container["Id"]):
                    api.remove_container(container["Id"], force=True)
                    removed.append(container["Id"])
                    return
            time.sleep(0.2)

    threading.Thread(target=watch, daemon=True).start()
    return removed


@pytest.mark.docker
def test_removed_sandbox_is_classified_retried_and_reported(task_factory: Callable[..., Path],
                                                            tmp_path: Path) -> None:
    # infrastructure lost under the trial: its container removed from outside
    task_factory("slow", solve=f"sleep {MARK}\necho ok > done.txt")
    stop = threading.Event()
    removed = remove_sandbox_once(stop)
    try:
        config = RunConfig(suite=tmp_path / "suite", output=tmp_path / "out", models=("oracle",), sandbox="docker")
        rows = list(run_bench(config))
    finally:
        stop.set()
    assert removed, "the fault was never injected"
    [row] = rows
    assert row.reward == 1.0 and row.failure is None
    assert row.attempts == 2
    assert len(row.retried) == 1 and row.retried[0].startswith("infra: ")
    assert "sandbox" in row.retried[0]
    md, report = write_report(results.read(tmp_path / "out"), tmp_path / "report")
    # passed, nothing failed or errored (the infra failure was retried away), 1 retry
    assert "| oracle | 1 | 1 | 0 | 0 | 100.0% [20.7-100.0%] | 1.000 | 1 |" in md.read_text()
    page = report.read_text()
    assert "<td>oracle</td><td>slow</td><td>2</td><td class='text'>infra: " in page


#: code that kills its own sandbox's agent; locally `kill -9 -1` would take this test down too
SELF_KILL = {"local": "kill -KILL $PPID", "docker": "kill -9 -1"}


@pytest.mark.parametrize("sandbox", ["local", pytest.param("docker", marks=pytest.mark.docker)])
def test_a_model_that_kills_its_sandbox_fails_the_trial_once_not_infra(task_factory: Callable[..., Path],
                                                                       tmp_path: Path, sandbox: str) -> None:
    task_factory("selfkill")
    with ScriptedServer(default=text("Done.")) as server:
        server.add(tool_call("shell", SELF_KILL[sandbox]))
        config = RunConfig(suite=tmp_path / "suite", output=tmp_path / "out", models=("openai/killer",),
                           sandbox=sandbox, api_base=server.url, api_key="x", max_retries=2)
        [row] = list(run_bench(config))
    assert (row.failure, row.reward, row.attempts, row.retried) == (None, 0.0, 1, []), row
    assert row.transcript is not None
    told = [m for m in _transcript(tmp_path / "out", row.transcript) if m.type == "error"]
    assert [m.format for m in told] == ["crashed"] and "killed by the code it ran" in str(told[0].content)


@pytest.mark.parametrize("sandbox", ["local", pytest.param("docker", marks=pytest.mark.docker)])
def test_a_fleet_session_whose_code_kills_its_sandbox_is_not_retried(tmp_path: Path, sandbox: str) -> None:
    with ScriptedServer(default=text("done")) as server:
        server.add(tool_call("shell", SELF_KILL[sandbox]))
        spec = SessionSpec("selfkill", "go", _fleet_settings(server, tmp_path))
        [result] = list(Fleet(FleetConfig(sandbox=SandboxConfig(sandbox))).run([spec]))
    assert (result.failure, result.attempts, result.retried) == (None, 1, ()), result
    assert result.transcript is not None
    told = [m for m in _transcript(tmp_path, result.transcript) if m.type == "error"]
    assert [m.format for m in told] == ["crashed"]


def _transcript(root: Path, path: str) -> list[Message]:
    with open(root / path if not Path(path).is_absolute() else path, "rb") as stream:
        return assemble(decode_chunk(c) for c in iter(lambda: read_frame(stream), None))


def test_retries_run_out_into_an_infra_failure_not_a_model_failure(tmp_path: Path) -> None:
    # a desktop whose X server cannot start fails every attempt: the plainest lasting infra failure
    settings = Settings(model="openai/x", api_base="http://127.0.0.1:9/v1", api_key="x", data_dir=tmp_path)
    config = FleetConfig(max_sessions=1, max_retries=1)
    spec = SessionSpec("s", "hi", settings, desktop=_impossible_desktop())
    [result] = list(Fleet(config).run([spec]))
    assert result.failure == "infra" and result.attempts == 2 and len(result.retried) == 1
    assert "Xvfb" in result.detail


def _impossible_desktop() -> DesktopConfig:
    return DesktopConfig(xvfb="/nonexistent/Xvfb")


def _fleet_settings(server: ScriptedServer, tmp_path: Path) -> Settings:
    return Settings(model="openai/scripted", api_base=server.url, api_key="x", mode="tools", data_dir=tmp_path,
                    context_window=32768, retry_delay=0.01, max_retries=1)


def test_step_budget_is_the_models_failure(tmp_path: Path) -> None:
    with ScriptedServer(default=tool_call("shell", "echo again")) as server:
        spec = SessionSpec("loop", "go", _fleet_settings(server, tmp_path), Budget(steps=3))
        [result] = list(Fleet().run([spec]))
    assert (result.failure, result.status, result.steps, result.attempts) == ("budget", "max_steps", 3, 1)


def test_token_budget_counts_what_the_api_reports(tmp_path: Path) -> None:
    reply = tool_call("shell", "echo again", usage=(1000, 10))
    with ScriptedServer(default=reply) as server:
        spec = SessionSpec("tokens", "go", _fleet_settings(server, tmp_path), Budget(tokens=1500))
        [result] = list(Fleet().run([spec]))
    assert (result.failure, result.status, result.steps) == ("budget", "budget", 2)
    assert (result.prompt_tokens, result.completion_tokens, result.tokens) == (2000, 20, 2020)


def test_wall_time_budget_stops_a_slow_model(tmp_path: Path) -> None:
    with ScriptedServer(default=text("thinking " * 200, chunk_size=4, delay=0.5)) as server:
        server.add(tool_call("shell", "sleep 30"))
        spec = SessionSpec("slow", "go", _fleet_settings(server, tmp_path), Budget(wall_time=2.0))
        started = time.monotonic()
        [result] = list(Fleet().run([spec]))
    assert (result.failure, result.status) == ("budget", "timeout")
    assert time.monotonic() - started < 25


def test_model_api_failures_are_retried_then_reported_as_such(tmp_path: Path) -> None:
    settings = Settings(model="openai/x", api_base="http://127.0.0.1:9/v1", api_key="x", data_dir=tmp_path,
                        max_retries=0, context_window=32768, mode="tools")
    [result] = list(Fleet(FleetConfig(max_retries=1)).run([SessionSpec("down", "hi", settings)]))
    assert result.failure == "model_api" and result.attempts == 2
    assert result.detail.startswith("ModelUnavailable")


def test_fleet_refuses_bad_configs_with_the_fix() -> None:
    with pytest.raises(FleetConfigError, match="max_sessions must be at least 1, got 0; try 8"):
        FleetConfig(max_sessions=0)
    with pytest.raises(FleetConfigError, match="warm pools exist for the docker backend only"):
        from orchestrator.fleet.fleet import SandboxConfig

        SandboxConfig("local", warm=2)
    with pytest.raises(FleetConfigError, match="session ids must be unique; repeated: a"):
        list(Fleet().run([SessionSpec("a", "x", Settings()), SessionSpec("a", "y", Settings())]))
