"""Results as JSONL: one row per trial, appended as trials finish, read back for resume and reports.

A trial ends in one of three outcomes:

    passed    graded, full reward
    failed    graded, less than full reward (a budget run out is the model's failure: still graded)
    errored   not graded: the environment, the verifier, the infrastructure (after retries), the
              model's API, the configuration, or a bug failed. Its reward is None, never 0.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.harness.errors import BadResults
from orchestrator.fleet.errors import ERRORED
from orchestrator.fleet.spec import SessionResult

log = logging.getLogger(__name__)

FILE = "results.jsonl"
#: the outcomes of a trial, in report order
OUTCOMES = ("passed", "failed", "errored")


def outcome_of(reward: float | None, failure: str | None) -> str:
    """passed / failed / errored: errored when the failure class means the trial was not graded."""
    if failure in ERRORED or reward is None:
        return "errored"
    return "passed" if reward >= 1.0 else "failed"


def session_outcome(result: SessionResult) -> str:
    """The outcome of a Fleet session of the harness (for the Fleet's progress display)."""
    reward = result.evaluation.get("reward")
    if result.failure in ERRORED or not isinstance(reward, (int, float)):
        return outcome_of(None, result.failure)
    return outcome_of(float(reward), result.failure)


@dataclass(frozen=True)
class TrialRow:
    """One trial: a model on a task."""

    task: str  #: task folder name
    category: str  #: the task's metadata.category
    model: str  #: the model's name as given
    trial: int  #: repetition index, from 0
    reward: float | None  #: 0..1 from the verifier; None when the trial was not graded (errored)
    steps: int  #: model calls
    tokens: int  #: prompt + completion tokens
    cost: float  #: USD
    wall_time: float  #: seconds of the last attempt
    failure: str | None  #: None, or a class from orchestrator.fleet.errors.FAILURES
    detail: str = ""  #: what failed
    attempts: int = 1  #: 1 + infrastructure retries
    retried: list[str] = field(default_factory=list)  #: why earlier attempts were retried
    status: str = ""  #: the conversation's last status
    transcript: str | None = None  #: the saved conversation (.lmc)
    desktop: bool = False  #: whether the task ran on a virtual desktop
    outcome: str = ""  #: passed, failed or errored ("" computes it from reward and failure)
    trial_dir: str | None = None  #: the trial's folder, relative to the run folder
    phases: dict[str, float] = field(default_factory=dict)  #: seconds per phase: build, start, agent, verify
    exit_codes: dict[str, int] = field(default_factory=dict)  #: exit status of the verifier, the oracle...
    image: str | None = None  #: the environment image the trial ran in
    node: str = ""  #: where the trial's last attempt ran (host name, or Ray node id on a cluster)

    def __post_init__(self) -> None:
        # an errored trial was not graded: whatever reward came with it is not a score
        if self.failure in ERRORED and self.reward is not None:
            object.__setattr__(self, "reward", None)
        if not self.outcome:
            object.__setattr__(self, "outcome", outcome_of(self.reward, self.failure))
        if self.outcome not in OUTCOMES:
            raise BadResults(f"trial outcome must be one of {', '.join(OUTCOMES)}, got {self.outcome!r}")

    @property
    def key(self) -> tuple[str, str, int]:
        """(task, model, trial): what resume matches on."""
        return (self.task, self.model, self.trial)

    @property
    def passed(self) -> bool:
        """Graded with full reward."""
        return self.outcome == "passed"

    @property
    def graded(self) -> bool:
        """Whether the verifier scored it (passed or failed)."""
        return self.outcome != "errored"

    @property
    def error_class(self) -> str:
        """Why an errored trial was not graded: its failure class ("ungraded" if it has none)."""
        return self.failure or "ungraded"


def repair(path: Path) -> None:
    """Make a results file end in a newline: cut a half-written last row back to the last whole line
    (saying which bytes were dropped), or finish a whole row that lacks its newline."""
    if not path.is_file():
        return
    with open(path, "rb") as stream:
        data = stream.read()
    if not data or data.endswith(b"\n"):
        return
    cut = data.rfind(b"\n") + 1
    tail = data[cut:]
    try:
        json.loads(tail)
        whole = True
    except ValueError:
        whole = False
    if whole:
        with open(path, "ab") as out:
            out.write(b"\n")
        return
    log.warning("%s: dropping a half-written last row left by an interrupted run (%d bytes from offset %d: %s); "
                "its trial runs again", path, len(tail), cut, _excerpt(tail))
    with open(path, "r+b") as out:
        out.truncate(cut)
        out.flush()
        os.fsync(out.fileno())


def _excerpt(tail: bytes | str, keep: int = 60) -> str:
    text = repr(tail[:keep])
    return text + (f" ... ({len(tail) - keep} more)" if len(tail) > keep else "")


def append(path: Path, row: TrialRow) -> None:
    """Append one row and flush it, so an interrupted run keeps what finished.

    A run killed mid-write leaves half a line; it is removed first (repair), so the new row starts a
    line of its own instead of gluing onto it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    repair(path)
    with open(path, "a") as out:
        out.write(json.dumps(dataclasses.asdict(row)) + "\n")
        out.flush()
        os.fsync(out.fileno())


def _row(data: dict[str, Any], names: set[str]) -> TrialRow:
    kept = {k: v for k, v in data.items() if k in names}
    # rows written before outcomes existed scored errored trials 0: TrialRow drops that reward
    return TrialRow(**kept)


def read(path: str | Path) -> list[TrialRow]:
    """Every row of a results file (or of <folder>/results.jsonl); a torn last line is skipped with a warning."""
    path = Path(path)
    if path.is_dir():
        path = path / FILE
    if not path.is_file():
        raise BadResults(f"no results at {path}; pass the --output folder of `lmc bench run` or its {FILE}")
    names = {f.name for f in dataclasses.fields(TrialRow)}
    rows = []
    text = path.read_text()
    lines = text.splitlines()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data: Any = json.loads(line)
        except json.JSONDecodeError:
            if number == len(lines) and not text.endswith("\n"):  # a run killed mid-write leaves half a line
                log.warning("%s:%d: ignoring a half-written last row left by an interrupted run (%s); the next "
                            "`lmc bench run` on this folder removes it and runs its trial again", path, number,
                            _excerpt(line))
                break
            raise BadResults(f"{path}:{number} is not JSON; was this file written by `lmc bench run`?") from None
        if not isinstance(data, dict) or not {"task", "model", "reward"} <= set(data):
            raise BadResults(f"{path}:{number} is not a trial row (needs task, model, reward)")
        try:
            rows.append(_row(data, names))
        except TypeError as exc:
            raise BadResults(f"{path}:{number} is not a trial row ({exc})") from None
    return rows


def latest(rows: list[TrialRow]) -> list[TrialRow]:
    """One row per (task, model, trial): the last written (a resumed run re-runs errored ones)."""
    kept: dict[tuple[str, str, int], TrialRow] = {}
    for row in rows:
        kept[row.key] = row
    return list(kept.values())
