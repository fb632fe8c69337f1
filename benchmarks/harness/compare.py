"""Compare two runs: pass rates side by side, and the tasks whose reward changed."""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.harness import summary
from benchmarks.harness.results import TrialRow


@dataclass(frozen=True)
class Change:
    """A task whose mean reward differs between run A and run B for one model."""

    model: str  #: the model (or "A-model -> B-model" when the runs hold one model each)
    task: str  #: the task
    a: float  #: mean reward in A
    b: float  #: mean reward in B


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


def _mean_rewards(rows: list[TrialRow], model: str) -> dict[str, float]:
    sums: dict[str, list[float]] = {}
    for row in rows:
        if row.model == model:
            sums.setdefault(row.task, []).append(row.reward)
    return {task: sum(v) / len(v) for task, v in sums.items()}


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
    lines = [f"| model | {name_a} pass rate | {name_b} pass rate | change | {name_a} trials | {name_b} trials |",
             "|---|---:|---:|---:|---:|---:|"]
    for model_a, model_b in _pairs(a, b) or [(m, m) for m in dict.fromkeys([*sa, *sb])]:
        pa = sa[model_a].pass_rate if model_a in sa else None
        pb = sb[model_b].pass_rate if model_b in sb else None
        delta = f"{(pb - pa) * 100:+.1f} pts" if pa is not None and pb is not None else "-"
        label = model_a if model_a == model_b else f"{model_a} -> {model_b}"
        lines.append(f"| {label} | {_pct(pa)} | {_pct(pb)} | {delta} "
                     f"| {sa[model_a].trials if model_a in sa else 0} | {sb[model_b].trials if model_b in sb else 0} |")
    moved = changes(a, b)
    lines += ["", f"{len(moved)} task(s) changed reward" + (":" if moved else ".")]
    lines += [f"- {c.model} {c.task}: {c.a:g} -> {c.b:g}" for c in moved]
    return "\n".join(lines) + "\n"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"
