"""The Fleet's live progress display (rich, on stderr): passed, failed, errored by class, retries."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from orchestrator.fleet.errors import ERRORED
from orchestrator.fleet.spec import SessionResult

#: what a caller's outcome function may answer, in display order
OUTCOMES = ("passed", "failed", "errored", "finished")

Outcome = Callable[[SessionResult], str]


def default_outcome(result: SessionResult) -> str:
    """errored (not graded), passed / failed by the evaluation's reward, else finished or failed (budget)."""
    if result.failure in ERRORED:
        return "errored"
    reward = result.evaluation.get("reward")
    if isinstance(reward, (int, float)) and not isinstance(reward, bool):
        return "passed" if reward >= 1 else "failed"
    return "failed" if result.failure else "finished"


def summary(counts: Counter[str], errors: Counter[str] | None = None) -> str:
    """One line of counts, e.g. 'passed 10 | failed 2 | errored 1 (infra 1) | retries 3'."""
    parts = []
    for name in (*OUTCOMES, *sorted(set(counts) - {*OUTCOMES, "retries"}), "retries"):
        if not counts.get(name):
            continue
        text = f"{name} {counts[name]}"
        if name == "errored" and errors:
            text += " (" + ", ".join(f"{c} {n}" for c, n in sorted(errors.items())) + ")"
        parts.append(text)
    return " | ".join(parts)


class Tally:
    """Counts finished sessions by outcome, errored ones by class too, and retries."""

    def __init__(self, outcome: Outcome | None = None, on_count: Callable[[Tally], None] | None = None) -> None:
        self.outcome = outcome or default_outcome
        self.on_count = on_count  #: called after each session is counted (the progress bar)
        self.counts: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()

    def __call__(self, result: SessionResult) -> None:
        verdict = self.outcome(result)
        self.counts[verdict] += 1
        if verdict == "errored":
            self.errors[result.failure or "ungraded"] += 1
        self.counts["retries"] += result.attempts - 1
        if self.on_count is not None:
            self.on_count(self)

    def line(self) -> str:
        """The counts as one line (see `summary`)."""
        return summary(self.counts, self.errors)


@contextmanager
def progress_display(total: int, enabled: bool, outcome: Outcome | None = None) -> Iterator[Tally]:
    """A Tally that also advances a progress bar per finished session (no display when disabled).

    `outcome` names how a session ended (passed / failed / errored); default_outcome when None.
    """
    tally = Tally(outcome)
    if not enabled:
        yield tally
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("sessions"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("{task.description}"))
    with Progress(*columns, console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task("", total=total)
        yield Tally(outcome, lambda tally: bar.update(task, advance=1, description=tally.line()))
