"""What one trial leaves behind besides its transcript: phase times, exit codes, its image, in trial.json.

The hooks write it into the trial's folder as the trial goes (so a trial that
errors in its build still tells how long the build took); the runner reads it
back to make the results row, on whichever node the session ran.
"""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

FILE = "trial.json"


@dataclass
class TrialRecord:
    """Phase times (seconds), exit codes and the image of one trial attempt."""

    phases: dict[str, float] = field(default_factory=dict)  #: build, start, agent, verify
    exit_codes: dict[str, int] = field(default_factory=dict)  #: verifier, oracle
    image: str | None = None  #: the environment image the trial ran in
    notes: list[str] = field(default_factory=list)  #: what the harness did not enforce, and why

    @contextmanager
    def phase(self, name: str) -> Any:
        """Time a phase, even when it raises."""
        started = time.monotonic()
        try:
            yield
        finally:
            self.phases[name] = round(self.phases.get(name, 0.0) + time.monotonic() - started, 3)

    def save(self, folder: Path) -> None:
        """Write trial.json into the trial's folder."""
        folder.mkdir(parents=True, exist_ok=True)
        (folder / FILE).write_text(json.dumps(asdict(self), indent=2) + "\n")


def load(folder: Path) -> TrialRecord:
    """The record a trial left in its folder (empty if it left none)."""
    try:
        data = json.loads((folder / FILE).read_text())
    except (OSError, ValueError):
        return TrialRecord()
    known = {k: data[k] for k in ("phases", "exit_codes", "image", "notes") if k in data}
    return TrialRecord(**known)
