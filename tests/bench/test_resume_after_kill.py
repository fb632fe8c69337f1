"""`lmc bench run` killed (SIGKILL) mid-trial, then run again: one row per trial, one transcript per attempt."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.harness import results
from benchmarks.harness.runner import TRIALS, trial_id
from benchmarks.harness.transcripts import load
from benchmarks.harness.trial import ATTEMPTS
from tests.bench.conftest import write_task

ROOT = Path(__file__).resolve().parents[2]
#: the first attempt of the slow task says it started, then waits for a file that appears only after the kill
SLOW = """touch "$STATE/started"
for i in $(seq 3000); do [ -f "$STATE/go" ] && break; sleep 0.1; done
echo ok > done.txt"""
TORN = '{"task": "b-slow", "category": "probe", "model": "ora'


def _bench(*args: str, state: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "STATE": str(state), "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "orchestrator", "bench", *args], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def _finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=300)
    return proc.returncode, out, err


def _wait_for(check: object, what: str, proc: subprocess.Popen[str], deadline: float = 180.0) -> None:
    end = time.monotonic() + deadline
    while not check():  # type: ignore[operator]
        if proc.poll() is not None:
            raise AssertionError(f"bench run ended (status {proc.returncode}) before {what}: {proc.stderr.read()}"
                                 if proc.stderr else what)
        assert time.monotonic() < end, f"no {what} within {deadline:.0f} s"
        time.sleep(0.05)


def _rows(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_run_killed_mid_trial_resumes_with_one_row_per_trial_and_a_transcript_per_attempt(tmp_path: Path) -> None:
    suite, out, state = tmp_path / "suite", tmp_path / "out", tmp_path / "state"
    state.mkdir()
    write_task(suite, "a-quick")
    write_task(suite, "b-slow", solve=SLOW)
    run = ("run", str(suite), "--model", "oracle", "--sandbox", "local", "--parallel", "1", "--output", str(out),
           "--no-progress")
    rows_file = out / results.FILE

    first = _bench(*run, state=state)
    try:
        _wait_for(lambda: (state / "started").exists() and rows_file.is_file() and rows_file.read_text().count("\n"),
                  "the slow trial under way after the quick one's row", first)
        os.kill(first.pid, signal.SIGKILL)  # as `kill -9` of the command: no cleanup of any kind runs
        first.wait(timeout=60)
    finally:
        try:
            os.killpg(first.pid, signal.SIGKILL)  # the local agent and the oracle's script it left
        except ProcessLookupError:
            pass
    assert first.returncode == -signal.SIGKILL
    with open(rows_file, "a") as torn:
        torn.write(TORN)  # killed in the middle of appending a row

    code, shown, err = _finish(_bench("report", str(out), state=state))
    assert code == 0, err
    assert "ignoring a half-written last row" in err and "'{\"task\": \"b-slow\"" in err

    (state / "go").touch()
    code, shown, err = _finish(_bench(*run, state=state))
    assert code == 0, err
    assert f"dropping a half-written last row left by an interrupted run ({len(TORN)} bytes" in err
    rows = _rows(rows_file)  # every line whole JSON, not one glued onto the torn row
    assert sorted((r["task"], r["outcome"]) for r in rows) == [("a-quick", "passed"), ("b-slow", "passed")]

    slow = out / TRIALS / trial_id("b-slow", "oracle", 0)
    conversation = f"{slow.name}.lmc"
    now = load(slow / "conversations" / conversation)
    before = load(slow / ATTEMPTS / "1" / "conversations" / conversation)
    # each attempt has its own transcript, starting with the task's prompt once, and its own logs
    assert [m.role for m in now if m.type == "message"].count("user") == 1
    assert [m.role for m in before if m.type == "message"].count("user") == 1
    assert (slow / "verifier" / "reward.txt").read_text().strip() == "1"
    assert (slow / ATTEMPTS / "1" / "trial.json").is_file() and not (slow / ATTEMPTS / "2").exists()
    assert not (out / TRIALS / trial_id("a-quick", "oracle", 0) / ATTEMPTS).exists()

    for args in (("report", str(out)), ("show", str(out), "b-slow")):
        code, shown, err = _finish(_bench(*args, state=state))
        assert code == 0, err
    assert f"earlier  {slow / ATTEMPTS / '1'}" in shown
