"""Task folders: the built-in suite is valid and complete; broken folders get every problem with a fix."""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from benchmarks.harness.errors import SuiteNotFound, TaskInvalid, UnknownTask
from benchmarks.harness.suite import BUILTIN, check_suite, load_suite
from benchmarks.harness.task import check_task, load_task
from benchmarks.harness.trial import parse_reward
from orchestrator.fleet_errors import VerifierFailed


def test_builtin_suite_is_valid_with_every_category_and_solutions() -> None:
    tasks = load_suite(BUILTIN, need_solution=True)
    categories = Counter(t.category for t in tasks)
    assert len(tasks) >= 40
    assert categories["desktop"] >= 8
    assert {"files", "text", "python", "data", "fix", "git", "desktop"} <= set(categories)
    assert all(t.solution is not None for t in tasks)
    assert all(t.desktop is not None and t.desktop.ready_window for t in tasks if t.category == "desktop")
    assert all(not t.allow_internet for t in tasks)


def test_missing_files_are_all_listed_with_fixes(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    problems = check_task(tmp_path / "empty", need_solution=True)
    text = "\n".join(problems)
    assert len(problems) == 4, problems
    assert "task.toml is missing" in text and "instruction.md is missing" in text
    assert "tests/test.sh is missing" in text and "reward.txt" in text
    assert "solution/solve.sh is missing" in text


@pytest.mark.parametrize(("toml", "expected"), [
    ("[agent]\ntimeout = 5\n", "unknown key 'timeout' in [agent]; known: timeout_sec, max_steps"),
    ("[agent]\ntimeout_sec = 'soon'\n", "[agent] timeout_sec must be int or float, got 'soon'"),
    ("[agent]\ntimeout_sec = -1\n", "[agent] timeout_sec must be above 0, got -1"),
    ("[metadata]\ndifficulty = 'brutal'\n", "difficulty 'brutal' is not one of easy, medium, hard"),
    ("[envirnoment]\ncpus = 1\n", "unknown section [envirnoment]; known: metadata, verifier"),
    ("[desktop]\nwidth = 800\n", "[desktop] needs app ="),
    ("[environment]\nallow_internet = 'no'\n", "allow_internet must be bool, got 'no'"),
    ("[agent\n", "task.toml is not valid TOML"),
])
def test_bad_task_toml_says_what_and_how(task_factory: Callable[..., Path], toml: str, expected: str) -> None:
    folder = task_factory("broken", toml=toml)
    with pytest.raises(TaskInvalid) as caught:
        load_task(folder)
    assert expected in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_suite_errors_name_the_task_and_the_choices(task_factory: Callable[..., Path], tmp_path: Path) -> None:
    task_factory("good")
    task_factory("bad", toml="[agent]\nsteps = 3\n")
    assert list(check_suite(tmp_path / "suite")) == ["bad"]
    with pytest.raises(TaskInvalid, match="bad: task.toml: unknown key 'steps'"):
        load_suite(tmp_path / "suite")
    assert [t.name for t in load_suite(tmp_path / "suite", ["good"])] == ["good"]
    with pytest.raises(UnknownTask, match="unknown task.*gdoo.*known: bad, good"):
        load_suite(tmp_path / "suite", ["gdoo"])
    with pytest.raises(SuiteNotFound, match="no task folders"):
        load_suite(tmp_path)


@pytest.mark.parametrize(("text", "reward"), [("1\n", 1.0), ("0.25", 0.25), ('{"reward": 0.5}', 0.5),
                                               ('{"a": 1, "b": 0}', 0.5)])
def test_rewards_read_like_harbor(text: str, reward: float) -> None:
    assert parse_reward(text, "t") == reward


@pytest.mark.parametrize(("text", "expected"), [("", "wrote no reward"), ("yes", "not a number or JSON"),
                                                ("1.5", "from 0 to 1"), ("true", "from 0 to 1")])
def test_bad_rewards_are_the_verifiers_failure(text: str, expected: str) -> None:
    with pytest.raises(VerifierFailed, match=expected):
        parse_reward(text, "t")


def test_bench_check_command_lists_problems_and_exits_1(task_factory: Callable[..., Path], tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    from orchestrator import bench_cli

    task_factory("good")
    task_factory("bad", toml="[metadata]\ndifficulty = 'brutal'\n")
    parser = argparse.ArgumentParser(prog="lmc")
    bench_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["bench", "check", str(tmp_path / "suite")])
    assert args.handler(args) == 1
    out = capsys.readouterr().out
    assert "bad: invalid" in out and "difficulty 'brutal'" in out and "1 of 2 task(s) valid" in out
    args = parser.parse_args(["bench", "check", "builtin", "--need-solution"])
    assert args.handler(args) == 0
