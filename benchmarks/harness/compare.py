"""Compare two runs: pass rates side by side, and the tasks whose reward changed.

Rewards and pass rates count graded trials only; a task with no graded trial in a run shows as
"errored" there, never as a reward of 0.
"""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.harness import summary
from benchmarks.harness.results import TrialRow


@dataclass(frozen=True)
class Change:
    """A task whose mean reward differs between run A and run B for one model."""

    model: str  #: the model (or "A-model -> B-model" when the runs hold one model each)
    task: str  #: the task
    a: float | None  #: mean reward over graded trials in A (None: every trial errored)
    b: float | None  #: the same in B


def _pairs(a: list[TrialRow], b: list[TrialRow]) -> list[tuple[str, str]]:
    """Which model of A meets which of B: same names, or the only model of each."""
    models_a = list(dict.fromkeys(r.model for r in a))
    models_b = list(dict.fromkeys(r.model for r in b))
    shared = [(m, m) for m in models_a if m in models_b]
    if shared:
        return shared
    if len(models_a) == 1 and len(models_b) == 1:
        return [(models_a[0], models_b[0])]
    return []


def _mean_rewards(rows: list[TrialRow], model: str) -> dict[str, float | None]:
    sums: dict[str, list[float]] = {}
    for row in rows:
        if row.model == model:
            rewards = sums.setdefault(row.task, [])
            if row.graded and row.reward is not None:
                rewards.append(row.reward)
    return {task: sum(v) / len(v) if v else None for task, v in sums.items()}


def changes(a: list[TrialRow], b: list[TrialRow]) -> list[Change]:
    """Per model pair, every task run in both whose mean reward changed."""
    found = []
    for model_a, model_b in _pairs(a, b):
        ra, rb = _mean_rewards(a, model_a), _mean_rewards(b, model_b)
        label = model_a if model_a == model_b else f"{model_a} -> {model_b}"
        found += [Change(label, t, ra[t], rb[t]) for t in sorted(set(ra) & set(rb)) if ra[t] != rb[t]]
    return found


def compare_text(a: list[TrialRow], b: list[TrialRow], name_a: str = "A", name_b: str = "B") -> str:
    """A markdown report: pass rate per model in A and B with the difference, then the changed tasks."""
    sa = {s.model: s for s in summary.by_model(a)}
    sb = {s.model: s for s in summary.by_model(b)}
    lines = [f"| model | {name_a} pass rate | {name_b} pass rate | change | {name_a} trials (errored) "
             f"| {name_b} trials (errored) |", "|---|---:|---:|---:|---:|---:|"]
    for model_a, model_b in _pairs(a, b) or [(m, m) for m in dict.fromkeys([*sa, *sb])]:
        pa = sa[model_a].pass_rate if model_a in sa else None
        pb = sb[model_b].pass_rate if model_b in sb else None
        delta = f"{(pb - pa) * 100:+.1f} pts" if pa is not None and pb is not None else "-"
        label = model_a if model_a == model_b else f"{model_a} -> {model_b}"
        lines.append(f"| {label} | {_rate(sa.get(model_a))} | {_rate(sb.get(model_b))} | {delta} "
                     f"| {_count(sa.get(model_a))} | {_count(sb.get(model_b))} |")
    moved = changes(a, b)
    lines += ["", f"{len(moved)} task(s) changed reward" + (":" if moved else ".")]
    lines += [f"- {c.model} {c.task}: {_reward(c.a)} -> {_reward(c.b)}" for c in moved]
    lines += ["", summary.GRADED_NOTE]
    return "\n".join(lines) + "\n"


def _rate(s: summary.ModelSummary | None) -> str:
    return "-" if s is None else summary.rate_with_interval(s)


def _count(s: summary.ModelSummary | None) -> str:
    return "0" if s is None else f"{s.trials} ({s.errored_total})"


def _reward(value: float | None) -> str:
    return "errored" if value is None else f"{value:g}"
