"""A killed run's attempt cannot write over the resumed run's: the trial folder's lock and claim (trial/guard.py).

The old attempt runs in its own process, as a leftover Ray worker of a killed driver would:
it holds the folder, writes its trial.json, and writes again late. The new run claims the
trial and starts it: it waits until the old attempt is done (or killed), sets the old files
aside whole, and a later try of the old run stops without touching the folder.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from benchmarks.harness.errors import StagingFailed
from benchmarks.harness.trial import ATTEMPTS, set_aside
from benchmarks.harness.trial.guard import Superseded, TrialGuard, claim

ROOT = Path(__file__).resolve().parents[2]
#: the old run's attempt: holds the folder, writes trial.json, says so, writes again when told, ends
OLD = """
import sys
from pathlib import Path
from benchmarks.harness.trial.guard import TrialGuard
folder = Path(sys.argv[1])
guard = TrialGuard(folder, "old-run")
guard.acquire()
(folder / "trial.json").write_text('{"by": "old", "write": 1}')
print("holding", flush=True)
sys.stdin.readline()
(folder / "trial.json").write_text('{"by": "old", "write": 2}')
guard.release()
"""


def _old_attempt(folder: Path) -> subprocess.Popen[str]:
    claim(folder, "old-run")
    proc = subprocess.Popen([sys.executable, "-c", OLD, str(folder)], env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "holding"
    return proc


def _start_new(folder: Path) -> tuple[threading.Thread, list[object]]:
    """The new run claims the trial and starts an attempt in a thread; [guard] or [error] once it got in."""
    claim(folder, "new-run")
    got: list[object] = []

    def attempt() -> None:
        guard = TrialGuard(folder, "new-run")
        try:
            guard.acquire(wait=120)
        except StagingFailed as exc:
            got.append(exc)
            return
        set_aside(folder)
        (folder / "trial.json").write_text('{"by": "new"}')
        got.append(guard)

    thread = threading.Thread(target=attempt)
    thread.start()
    return thread, got


def test_a_new_attempt_waits_for_the_old_one_and_an_old_retry_touches_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "trials" / "t1"
    old = _old_attempt(folder)
    thread, got = _start_new(folder)
    thread.join(timeout=1.0)
    assert thread.is_alive() and not got  # the old attempt holds the folder: the new one cannot be in

    assert old.stdin is not None
    old.stdin.write("go\n")  # the old attempt's late write, then it ends
    old.stdin.close()
    assert old.wait(timeout=60) == 0
    thread.join(timeout=60)
    assert len(got) == 1 and isinstance(got[0], TrialGuard), got
    # the old attempt's files, late write included, are set aside whole; the new record stands
    assert json.loads((folder / ATTEMPTS / "1" / "trial.json").read_text()) == {"by": "old", "write": 2}
    assert json.loads((folder / "trial.json").read_text()) == {"by": "new"}
    assert not (folder / ATTEMPTS / "1" / ".claim").exists() and not (folder / ATTEMPTS / "1" / ".lock").exists()

    # a retry of the old run (its worker retrying after an infra failure) waits for the new attempt,
    # then stops and writes nothing
    got[0].release()  # type: ignore[union-attr]
    with pytest.raises(Superseded, match=r"claimed by a newer run \(new-run\).*stops without touching it"):
        TrialGuard(folder, "old-run").acquire(wait=5)
    assert json.loads((folder / "trial.json").read_text()) == {"by": "new"}
    assert not (folder / ATTEMPTS / "2").exists()


def test_an_old_attempt_killed_while_holding_the_folder_lets_the_new_one_in(tmp_path: Path) -> None:
    folder = tmp_path / "trials" / "t1"
    old = _old_attempt(folder)
    thread, got = _start_new(folder)
    old.send_signal(signal.SIGKILL)  # as Ray ends a dead driver's actors: the kernel drops its lock
    old.wait(timeout=60)
    thread.join(timeout=60)
    assert len(got) == 1 and isinstance(got[0], TrialGuard), got
    assert json.loads((folder / ATTEMPTS / "1" / "trial.json").read_text()) == {"by": "old", "write": 1}
    got[0].release()  # type: ignore[union-attr]


def test_a_folder_held_too_long_is_a_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "trials" / "t1"
    old = _old_attempt(folder)
    try:
        with pytest.raises(StagingFailed, match=r"still held by another attempt after 0 s .*end that process"):
            TrialGuard(folder, "old-run").acquire(wait=0.3)
    finally:
        old.kill()
        old.wait(timeout=60)
