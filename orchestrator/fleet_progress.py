"""The Fleet's live progress display (rich, on stderr): done, passed, failed by class, retries."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from orchestrator.fleet_spec import SessionResult


def summary(counts: Counter[str]) -> str:
    """One line of counts, e.g. 'ok 10 | budget 2 | infra 1 | retries 3'."""
    return " | ".join(f"{name} {n}" for name, n in sorted(counts.items()) if n)


@contextmanager
def progress_display(total: int, enabled: bool) -> Iterator[Callable[[SessionResult], None]]:
    """A callback that advances a progress bar per finished session (a no-op when disabled)."""
    counts: Counter[str] = Counter()

    def count(result: SessionResult) -> None:
        counts[result.failure or "ok"] += 1
        counts["retries"] += result.attempts - 1

    if not enabled:
        yield count
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("sessions"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("{task.description}"))
    with Progress(*columns, console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task("", total=total)

        def show(result: SessionResult) -> None:
            count(result)
            bar.update(task, advance=1, description=summary(counts))

        yield show
