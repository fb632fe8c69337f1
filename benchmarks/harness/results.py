"""Results as JSONL: one row per trial, appended as trials finish, read back for resume and reports."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.harness.errors import BadResults

FILE = "results.jsonl"


@dataclass(frozen=True)
class TrialRow:
    """One trial: a model on a task."""

    task: str  #: task folder name
    category: str  #: the task's metadata.category
    model: str  #: the model's name as given
    trial: int  #: repetition index, from 0
    reward: float  #: 0..1 from the verifier (0 when the trial failed before grading)
    steps: int  #: model calls
    tokens: int  #: prompt + completion tokens
    cost: float  #: USD
    wall_time: float  #: seconds of the last attempt
    failure: str | None  #: None, or a class from orchestrator.fleet_errors.FAILURES
    detail: str = ""  #: what failed
    attempts: int = 1  #: 1 + infrastructure retries
    retried: list[str] = field(default_factory=list)  #: why earlier attempts were retried
    status: str = ""  #: the conversation's last status
    transcript: str | None = None  #: the saved conversation (.lmc)
    desktop: bool = False  #: whether the task ran on a virtual desktop

    @property
    def key(self) -> tuple[str, str, int]:
        """(task, model, trial): what resume matches on."""
        return (self.task, self.model, self.trial)

    @property
    def passed(self) -> bool:
        """Full reward."""
        return self.reward >= 1.0


def append(path: Path, row: TrialRow) -> None:
    """Append one row and flush it, so an interrupted run keeps what finished."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as out:
        out.write(json.dumps(dataclasses.asdict(row)) + "\n")


def read(path: str | Path) -> list[TrialRow]:
    """Every row of a results file (or of <folder>/results.jsonl); a torn last line is skipped."""
    path = Path(path)
    if path.is_dir():
        path = path / FILE
    if not path.is_file():
        raise BadResults(f"no results at {path}; pass the --output folder of `lmc bench run` or its {FILE}")
    names = {f.name for f in dataclasses.fields(TrialRow)}
    rows = []
    lines = path.read_text().splitlines()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data: Any = json.loads(line)
        except json.JSONDecodeError:
            if number == len(lines):  # a run killed mid-write leaves half a line
                break
            raise BadResults(f"{path}:{number} is not JSON; was this file written by `lmc bench run`?") from None
        if not isinstance(data, dict) or not {"task", "model", "reward"} <= set(data):
            raise BadResults(f"{path}:{number} is not a trial row (needs task, model, reward)")
        rows.append(TrialRow(**{k: v for k, v in data.items() if k in names}))
    return rows


def latest(rows: list[TrialRow]) -> list[TrialRow]:
    """One row per (task, model, trial): the last written (a resumed run re-runs failed ones)."""
    kept: dict[tuple[str, str, int], TrialRow] = {}
    for row in rows:
        kept[row.key] = row
    return list(kept.values())
