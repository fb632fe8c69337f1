"""`lmc bench run --ray` resumes after its driver is killed (SIGKILL) or its Ray head is lost and a new one started.

Each test starts its own Ray cluster (Ray's test cluster: random ports, its own temp folder)
and runs the driver as a separate `lmc bench run --ray` process joined to it by RAY_ADDRESS.
The suite: a quick task, then a slow one whose first attempt says it started and waits for
a file the test writes only after the kill. The run is then started again with the same
output folder (on a new cluster after a head loss): every trial has exactly one result row,
the quick trial (finished before the kill) is not run again, and the slow one's cut-short
attempt is kept aside in its folder.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks.harness import results
from benchmarks.harness.runner import TRIALS, trial_id
from benchmarks.harness.trial import ATTEMPTS
from tests.bench.conftest import write_task

pytestmark = pytest.mark.ray

ROOT = Path(__file__).resolve().parents[2]


def _slow(state: Path) -> str:
    """The slow task's solution: absolute paths, since it runs in a Ray worker, not under the driver's env."""
    return (f'touch "{state}/started"\n'
            f'for i in $(seq 1200); do [ -f "{state}/go" ] && break; sleep 0.1; done\n'
            "echo ok > done.txt")


def _cluster(tmp: Path) -> Any:
    """A one-node Ray cluster of this test's own (random ports, own temp folder); not joined by this process."""
    from ray.cluster_utils import Cluster

    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    tmp.mkdir(parents=True, exist_ok=True)
    return Cluster(initialize_head=True, connect=False,
                   head_node_args={"num_cpus": 2, "include_dashboard": False, "temp_dir": str(tmp)})


@pytest.fixture
def clusters(tmp_path: Path) -> Iterator[Callable[[], Any]]:
    """Start clusters on demand; every one started is shut down at the end (only ours)."""
    made: list[Any] = []

    def start() -> Any:
        made.append(_cluster(Path(f"/tmp/lmc-ray-{os.getpid()}-{len(made)}")))
        return made[-1]

    yield start
    for cluster in made:
        cluster.shutdown()


def _bench(out: Path, suite: Path, address: str) -> subprocess.Popen[str]:
    env = {**os.environ, "RAY_ADDRESS": address, "PYTHONPATH": str(ROOT), "RAY_AUTH_MODE": "disabled"}
    args = ("run", str(suite), "--model", "oracle", "--sandbox", "local", "--parallel", "1", "--ray",
            "--output", str(out), "--no-progress")
    return subprocess.Popen([sys.executable, "-m", "orchestrator", "bench", *args], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def _wait_for(check: Callable[[], bool], what: str, proc: subprocess.Popen[str], deadline: float = 180.0) -> None:
    end = time.monotonic() + deadline
    while not check():
        if proc.poll() is not None:
            err = proc.stderr.read() if proc.stderr else ""
            raise AssertionError(f"bench run ended (status {proc.returncode}) before {what}: {err}")
        assert time.monotonic() < end, f"no {what} within {deadline:.0f} s"
        time.sleep(0.1)


def _suite(tmp_path: Path) -> tuple[Path, Path, Path]:
    suite, out, state = tmp_path / "suite", tmp_path / "out", tmp_path / "state"
    state.mkdir()
    write_task(suite, "a-quick")
    write_task(suite, "b-slow", solve=_slow(state))
    return suite, out, state


def _cut_mid_run(first: subprocess.Popen[str], out: Path, state: Path) -> float:
    """Wait until the quick trial's row is in and the slow trial runs; the quick one's result.json mtime."""
    rows_file = out / results.FILE
    _wait_for(lambda: (state / "started").exists() and rows_file.is_file() and rows_file.read_text().count("\n") > 0,
              "the slow trial under way after the quick one's row", first)
    return (out / TRIALS / trial_id("a-quick", "oracle", 0) / "result.json").stat().st_mtime


def _check_resumed(out: Path, quick_mtime: float) -> None:
    rows = [json.loads(line) for line in (out / results.FILE).read_text().splitlines()]
    # exactly one row per trial: none lost, none twice
    assert sorted((r["task"], r["trial"], r["outcome"]) for r in rows) == [("a-quick", 0, "passed"),
                                                                          ("b-slow", 0, "passed")], rows
    quick = out / TRIALS / trial_id("a-quick", "oracle", 0)
    slow = out / TRIALS / trial_id("b-slow", "oracle", 0)
    # the trial finished before the cut was not run again: its folder and result are as they were
    assert not (quick / ATTEMPTS).exists()
    assert (quick / "result.json").stat().st_mtime == quick_mtime
    # the slow trial ran again from scratch; its cut-short attempt is kept, once
    assert (slow / ATTEMPTS / "1").is_dir() and not (slow / ATTEMPTS / "2").exists()
    assert (slow / "verifier" / "reward.txt").read_text().strip() == "1"


def test_a_killed_driver_is_started_again_and_the_run_resumes(tmp_path: Path, clusters: Any) -> None:
    suite, out, state = _suite(tmp_path)
    cluster = clusters()
    first = _bench(out, suite, cluster.address)
    try:
        quick_mtime = _cut_mid_run(first, out, state)
        os.kill(first.pid, signal.SIGKILL)  # the driver only; the cluster and its workers stay up
        first.wait(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == -signal.SIGKILL
    (state / "go").touch()  # a leftover first attempt (if Ray has not ended it yet) may finish now

    second = _bench(out, suite, cluster.address)
    _, err = second.communicate(timeout=300)
    assert second.returncode == 0, err
    _check_resumed(out, quick_mtime)


def _lose(cluster: Any, part: str) -> None:
    if part == "head node":
        cluster.shutdown()  # the head's raylet (this driver's node) and then its GCS: every actor goes
        return
    # only the GCS: the driver's raylet lives on (Ray's raylets give up on a lost GCS after 60 s)
    for info in cluster.head_node.all_processes["gcs_server"]:
        info.process.kill()
        info.process.wait(timeout=30)


@pytest.mark.parametrize("part", ["head node", "GCS"])
def test_a_lost_head_stops_the_driver_clearly_and_a_new_head_resumes_the_run(
        tmp_path: Path, clusters: Any, part: str) -> None:
    suite, out, state = _suite(tmp_path)
    old = clusters()
    first = _bench(out, suite, old.address)
    try:
        quick_mtime = _cut_mid_run(first, out, state)
        lost = time.monotonic()
        _lose(old, part)
        _, err = first.communicate(timeout=120)
        took = time.monotonic() - lost
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 1, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("lmc: error: lost the Ray cluster ("), err
    assert "run the same command again" in last and "resumes" in last, err
    assert "Traceback" not in err, err
    # bounded: well before Ray's own 60 s exit (HEAD_GRACE is 15 s), generous for a loaded machine
    assert took < 55, (took, err)
    print(f"\ndriver stopped {took:.1f} s after the {part} was lost: {last}")
    (state / "go").touch()

    new = clusters()
    second = _bench(out, suite, new.address)
    _, err = second.communicate(timeout=300)
    assert second.returncode == 0, err
    _check_resumed(out, quick_mtime)
