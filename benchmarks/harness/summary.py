"""Numbers from result rows, and the tables of them (markdown here; report.py renders them as HTML).

Scores count graded trials only (passed + failed). Errored trials were not graded: they are counted
apart, by class, and never as a score of 0.

    pass rate   passed / graded, with a 95 % Wilson score interval
    pass@k      per task 1 - C(n-c, k) / C(n, k) (n graded trials, c passed; Chen et al. 2021,
                unbiased), averaged over the tasks with at least k graded trials
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from benchmarks.harness.results import TrialRow
from orchestrator.fleet.errors import ERRORED

#: z for a two-sided 95 % interval
Z95 = 1.959963984540054
GRADED_NOTE = ("Pass rates, their 95 % Wilson intervals and mean rewards count graded trials only "
               "(passed + failed); errored trials were not graded and are counted apart, never as 0.")
PASS_AT_NOTE = ("pass@k: per task 1 - C(n-c,k)/C(n,k) over its n graded trials with c passed (unbiased), "
                "averaged over the tasks with at least k graded trials (their number in brackets).")


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion (None for no trials)."""
    if n <= 0:
        return None
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be 0..{n}, got {successes}")
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased estimate of pass@k from n trials of which c passed (needs n >= k)."""
    if not 0 < k <= n or not 0 <= c <= n:
        raise ValueError(f"pass@k needs 0 < k <= n and 0 <= c <= n, got n={n} c={c} k={k}")
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


@dataclass(frozen=True)
class PassAtK:
    """pass@k of one model: the mean estimate and how many tasks it averages."""

    k: int  #: attempts
    value: float | None  #: mean over tasks; None when no task has k graded trials
    tasks: int  #: tasks with at least k graded trials


@dataclass(frozen=True)
class ModelSummary:
    """One model's results over a run."""

    model: str  #: the model's name
    trials: int  #: trials run (every outcome)
    passed: int  #: graded with full reward
    failed: int  #: graded with less
    errored: dict[str, int]  #: failure class -> trials not graded because of it (after retries)
    mean_reward: float | None  #: mean reward over graded trials (None: none graded)
    retries: int  #: attempts retried after infrastructure or model-API failures
    budget: int  #: trials that ran out of steps, tokens, cost or time (graded, the model's failure)
    median_steps: float  #: median model calls per trial
    median_tokens: float  #: median tokens per trial
    cost: float  #: USD over the run
    median_wall: float  #: median seconds per trial
    pass_at: tuple[PassAtK, ...] = field(default=())  #: pass@k for k = 1 and the run's trials per task

    @property
    def graded(self) -> int:
        """Trials the verifier scored."""
        return self.passed + self.failed

    @property
    def errored_total(self) -> int:
        """Trials not graded."""
        return sum(self.errored.values())

    @property
    def pass_rate(self) -> float | None:
        """Share of graded trials with full reward (None: none graded)."""
        return self.passed / self.graded if self.graded else None

    @property
    def interval(self) -> tuple[float, float] | None:
        """95 % Wilson interval of the pass rate."""
        return wilson(self.passed, self.graded)


@dataclass(frozen=True)
class TaskCell:
    """One task for one model: its trials by outcome."""

    passed: int
    graded: int
    errored: dict[str, int]  #: failure class -> trials


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def _groups(rows: list[TrialRow]) -> dict[str, list[TrialRow]]:
    groups: dict[str, list[TrialRow]] = defaultdict(list)
    for row in rows:
        groups[row.model].append(row)
    return groups


def _ks(rows: list[TrialRow]) -> list[int]:
    """The k of pass@k to report: 1 and the most trials any (task, model) had, if more than 1."""
    per_pair = Counter((r.task, r.model) for r in rows)
    most = max(per_pair.values(), default=1)
    return [1, most] if most > 1 else [1]


def pass_at(rows: list[TrialRow], k: int) -> PassAtK:
    """pass@k over the tasks of these rows (one model's) that have at least k graded trials."""
    per_task: dict[str, list[bool]] = defaultdict(list)
    for row in rows:
        if row.graded:
            per_task[row.task].append(row.passed)
    values = [pass_at_k(len(v), sum(v), k) for v in per_task.values() if len(v) >= k]
    return PassAtK(k, sum(values) / len(values) if values else None, len(values))


def _errored(rows: list[TrialRow]) -> dict[str, int]:
    return dict(Counter(r.error_class for r in rows if not r.graded))


def by_model(rows: list[TrialRow]) -> list[ModelSummary]:
    """A summary per model, in the order models first appear."""
    ks = _ks(rows)
    out = []
    for model, group in _groups(rows).items():
        graded = [r for r in group if r.graded]
        rewards = [r.reward for r in graded if r.reward is not None]
        out.append(ModelSummary(
            model, len(group), sum(r.passed for r in group), len(graded) - sum(r.passed for r in graded),
            _errored(group), sum(rewards) / len(rewards) if rewards else None,
            sum(r.attempts - 1 for r in group), sum(r.failure == "budget" for r in group),
            _median([r.steps for r in group]), _median([r.tokens for r in group]), sum(r.cost for r in group),
            _median([r.wall_time for r in group]), tuple(pass_at(group, k) for k in ks)))
    return out


def by_task(rows: list[TrialRow]) -> dict[str, dict[str, TaskCell]]:
    """task -> model -> its trials by outcome, tasks sorted by name."""
    cells: dict[str, dict[str, list[TrialRow]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        cells[row.task][row.model].append(row)
    return {task: {m: TaskCell(sum(r.passed for r in g), sum(r.graded for r in g), _errored(g))
                   for m, g in models.items()} for task, models in sorted(cells.items())}


def by_category(rows: list[TrialRow]) -> dict[str, dict[str, float | None]]:
    """category -> model -> pass rate over graded trials (None: none graded)."""
    cells: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        votes = cells[row.category][row.model]  # made even when empty: the model ran in this category
        if row.graded:
            votes.append(row.passed)
    return {c: {m: (sum(v) / len(v) if v else None) for m, v in models.items()}
            for c, models in sorted(cells.items())}


# --- tables -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """A titled table of text cells, rendered as markdown here and as HTML by the report."""

    title: str
    header: list[str]
    body: list[list[str]]
    note: str = ""


def pct(value: float | None) -> str:
    """A share as a percentage, '-' for none."""
    return "-" if value is None else f"{value:.1%}"


def rate_with_interval(summary: ModelSummary) -> str:
    """'66.7% [20.8-93.9%]' (95 % Wilson), or '-' when nothing was graded."""
    interval = summary.interval
    if interval is None:
        return "-"
    return f"{pct(summary.pass_rate)} [{interval[0] * 100:.1f}-{interval[1] * 100:.1f}%]"


def _classes(errored: dict[str, int]) -> str:
    order = [*ERRORED, *sorted(set(errored) - set(ERRORED))]
    return ", ".join(f"{c} {errored[c]}" for c in order if errored.get(c))


def _cell(cell: TaskCell | None) -> str:
    if cell is None:
        return "-"
    errors = sum(cell.errored.values())
    text = f"{cell.passed}/{cell.graded}" if cell.graded else ""
    if errors:
        text += f"{' + ' if text else ''}{errors} errored ({_classes(cell.errored)})"
    return text


def tables(rows: list[TrialRow]) -> list[Table]:
    """Every table of the summary: per model, errored by class, pass@k, per task, per category."""
    summaries = by_model(rows)
    models = [s.model for s in summaries]
    out = [Table("Per model", ["model", "trials", "passed", "failed", "errored", "pass rate [95% CI]",
                               "mean reward", "retries", "budget", "median steps", "median tokens", "cost USD",
                               "median wall s"],
                 [[s.model, str(s.trials), str(s.passed), str(s.failed), str(s.errored_total),
                   rate_with_interval(s), "-" if s.mean_reward is None else f"{s.mean_reward:.3f}", str(s.retries),
                   str(s.budget), f"{s.median_steps:g}", f"{s.median_tokens:g}", f"{s.cost:.4f}",
                   f"{s.median_wall:.2f}"] for s in summaries], GRADED_NOTE)]
    errored = [s for s in summaries if s.errored_total]
    if errored:
        classes = [c for c in (*ERRORED, "ungraded") if any(s.errored.get(c) for s in errored)]
        out.append(Table("Errored trials by class (after retries)", ["model", *classes],
                         [[s.model, *(str(s.errored.get(c, 0)) for c in classes)] for s in errored],
                         "Errored trials were not graded: they say nothing about the model's skill."))
    ks = [p.k for p in summaries[0].pass_at] if summaries else [1]
    if len(ks) > 1:
        out.append(Table("pass@k", ["model", *(f"pass@{k}" for k in ks)],
                         [[s.model, *(f"{pct(p.value)} ({p.tasks})" for p in s.pass_at)] for s in summaries],
                         PASS_AT_NOTE))
    out.append(Table("Per task (passed/graded)", ["task", *models],
                     [[task, *(_cell(cells.get(m)) for m in models)] for task, cells in by_task(rows).items()]))
    out.append(Table("Pass rate per category", ["category", *models],
                     [[c, *(pct(rates[m]) if m in rates else "-" for m in models)]
                      for c, rates in by_category(rows).items()]))
    return out


def table_markdown(table: Table) -> str:
    """One table as markdown, with its title and note."""
    aligns = ["---"] + ["---:"] * (len(table.header) - 1)
    lines = [f"## {table.title}", "", "| " + " | ".join(table.header) + " |", "|" + "|".join(aligns) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in table.body]
    if table.note:
        lines += ["", table.note]
    return "\n".join(lines)


def markdown(rows: list[TrialRow]) -> str:
    """The summary as markdown: every table of `tables`, then a one-line verdict on errors."""
    parts = [table_markdown(t) for t in tables(rows)]
    errored = [r for r in rows if not r.graded]
    if errored:
        parts.append(f"**{len(errored)} of {len(rows)} trial(s) errored** ({_classes(_errored(errored))}): "
                     "they were not graded; see report.html for each one.")
    return "\n\n".join(parts) + "\n"
