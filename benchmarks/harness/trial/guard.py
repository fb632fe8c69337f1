"""One attempt at a time in a trial's folder, and none from a run that a newer one replaced.

When a run's driver is killed or its Ray head lost, a worker of that run may go on with a trial
(until Ray ends it) while the resumed run starts the same trial again. Two things keep the
older attempt from writing over the newer one's trial.json, transcript or logs:

- the claim: the driver writes its run id into `<trial>/.claim` before submitting the trial;
  an attempt that finds another run's id there stops at once and touches nothing;
- the lock: an attempt holds an exclusive flock on `<trial>/.lock` from its start (before its
  files are set aside) to its end, so a new attempt waits for an old one still writing
  (its process dying releases the lock) and then sets its files aside, whole.

    claim(folder, run)              # driver, before the session is submitted
    guard = TrialGuard(folder, run)
    guard.acquire()                 # worker, first thing in the attempt; Superseded or StagingFailed
    ...
    guard.release()                 # last thing
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from pathlib import Path
from typing import IO

from benchmarks.harness.errors import StagingFailed

log = logging.getLogger(__name__)

LOCK = ".lock"
CLAIM = ".claim"
#: files of the guard in a trial's folder: never set aside, never shown
FILES = (LOCK, CLAIM)
#: seconds an attempt waits for an earlier one still holding the folder (a lost head's workers
#: live up to 60 s; a killed driver's actors end within seconds)
LOCK_WAIT = 180.0
POLL = 0.2


class Superseded(StagingFailed):
    """A newer run claimed this trial: this attempt belongs to a run that was killed or lost its head."""


def new_run_id() -> str:
    """An id for one `lmc bench run` process: its start time and pid."""
    return f"{time.time_ns()}-{os.getpid()}"


def claim(folder: Path, run: str) -> None:
    """Say that run `run` owns the trial in `folder` now (atomic: a reader sees the old id or the new)."""
    folder.mkdir(parents=True, exist_ok=True)
    part = folder / f"{CLAIM}.{os.getpid()}"
    part.write_text(run + "\n")
    part.replace(folder / CLAIM)


def claimant(folder: Path) -> str | None:
    """The run that last claimed the trial in `folder`, or None."""
    try:
        return (folder / CLAIM).read_text().strip() or None
    except OSError:
        return None


class TrialGuard:
    """The lock and claim check of one attempt at the trial in `folder` by run `run` ("" checks no claim)."""

    def __init__(self, folder: Path, run: str) -> None:
        self.folder = folder
        self.run = run
        self._file: IO[bytes] | None = None

    def acquire(self, wait: float = LOCK_WAIT) -> None:
        """Hold the folder's lock (waiting up to `wait` s for an earlier attempt), then check the claim."""
        self.folder.mkdir(parents=True, exist_ok=True)
        handle = open(self.folder / LOCK, "ab")  # noqa: SIM115 - held until release()
        deadline, told = time.monotonic() + wait, False
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.close()
                    raise StagingFailed(
                        f"trial folder {self.folder} is still held by another attempt after {wait:.0f} s "
                        "(a worker of an earlier, killed run?); end that process, or wait and run again") from None
                if not told:
                    log.info("trial folder %s: waiting for an earlier attempt still running there", self.folder)
                    told = True
                time.sleep(POLL)
        self._file = handle
        owner = claimant(self.folder)
        if self.run and owner is not None and owner != self.run:
            self.release()
            raise Superseded(f"trial folder {self.folder} was claimed by a newer run ({owner}); this attempt "
                             f"of run {self.run} stops without touching it")

    def release(self) -> None:
        """Let the next attempt in (closing the file drops the lock)."""
        if self._file is not None:
            self._file.close()
            self._file = None
