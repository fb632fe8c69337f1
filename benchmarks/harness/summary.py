"""Numbers from result rows: per model, per category; and the markdown table of them."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass

from benchmarks.harness.results import TrialRow


@dataclass(frozen=True)
class ModelSummary:
    """One model's results over a run."""

    model: str  #: the model's name
    trials: int  #: trials run
    passed: int  #: trials with full reward
    mean_reward: float  #: mean reward over all trials
    failures: dict[str, int]  #: failure class -> trials that ended in it (after retries)
    retries: int  #: attempts retried after infrastructure or model-API failures
    median_steps: float  #: median model calls per trial
    median_tokens: float  #: median tokens per trial
    cost: float  #: USD over the run
    median_wall: float  #: median seconds per trial

    @property
    def pass_rate(self) -> float:
        """Share of trials with full reward."""
        return self.passed / self.trials if self.trials else 0.0


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def by_model(rows: list[TrialRow]) -> list[ModelSummary]:
    """A summary per model, in the order models first appear."""
    groups: dict[str, list[TrialRow]] = defaultdict(list)
    for row in rows:
        groups[row.model].append(row)
    out = []
    for model, group in groups.items():
        failures = Counter(r.failure for r in group if r.failure)
        out.append(ModelSummary(
            model, len(group), sum(r.passed for r in group), sum(r.reward for r in group) / len(group),
            dict(failures), sum(r.attempts - 1 for r in group), _median([r.steps for r in group]),
            _median([r.tokens for r in group]), sum(r.cost for r in group), _median([r.wall_time for r in group])))
    return out


def by_category(rows: list[TrialRow]) -> dict[str, dict[str, float]]:
    """category -> model -> pass rate."""
    cells: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        cells[row.category][row.model].append(row.passed)
    return {c: {m: sum(v) / len(v) for m, v in models.items()} for c, models in sorted(cells.items())}


def markdown(rows: list[TrialRow]) -> str:
    """The summary as markdown tables: per model, then pass rate per category."""
    lines = ["| model | trials | passed | pass rate | mean reward | infra (after retries) | retries | budget "
             "| median steps | median tokens | cost USD | median wall s |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    summaries = by_model(rows)
    for s in summaries:
        lines.append(f"| {s.model} | {s.trials} | {s.passed} | {s.pass_rate:.1%} | {s.mean_reward:.3f} "
                     f"| {s.failures.get('infra', 0)} | {s.retries} | {s.failures.get('budget', 0)} "
                     f"| {s.median_steps:g} | {s.median_tokens:g} | {s.cost:.4f} | {s.median_wall:.2f} |")
    models = [s.model for s in summaries]
    lines += ["", "| category | " + " | ".join(models) + " |", "|---|" + "---:|" * len(models)]
    for category, rates in by_category(rows).items():
        cells = " | ".join(f"{rates[m]:.0%}" if m in rates else "-" for m in models)
        lines.append(f"| {category} | {cells} |")
    return "\n".join(lines) + "\n"
