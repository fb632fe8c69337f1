"""The HTML report: the summary tables and charts (matplotlib, embedded as PNG), plus failures listed."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any

from benchmarks.harness import summary
from benchmarks.harness.results import TrialRow


def _png(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode()


def _pass_rates(rows: list[TrialRow]) -> str:
    import matplotlib.pyplot as plt

    table = summary.by_category(rows)
    models = [s.model for s in summary.by_model(rows)]
    categories = list(table)
    figure, axes = plt.subplots(1, 2, figsize=(12, 4), gridspec_kw={"width_ratios": [3, 1]})
    width = 0.8 / max(1, len(models))
    for i, model in enumerate(models):
        xs = [c + i * width for c in range(len(categories))]
        axes[0].bar(xs, [table[c].get(model, 0.0) * 100 for c in categories], width, label=model)
    axes[0].set_xticks([c + 0.4 - width / 2 for c in range(len(categories))], categories, rotation=30)
    axes[0].set_ylabel("pass rate %")
    axes[0].set_title("pass rate per category")
    axes[0].legend()
    rates = [s.pass_rate * 100 for s in summary.by_model(rows)]
    axes[1].bar(models, rates, color=[f"C{i}" for i in range(len(models))])
    axes[1].set_title("pass rate per model")
    axes[1].set_ylim(0, 100)
    return _png(figure)


def _distributions(rows: list[TrialRow]) -> str:
    import matplotlib.pyplot as plt

    models = [s.model for s in summary.by_model(rows)]
    figure, axes = plt.subplots(1, 3, figsize=(12, 3.5))
    for axis, field, label in zip(axes, ("wall_time", "steps", "tokens"), ("wall time s", "steps", "tokens"),
                                  strict=True):
        data = [[getattr(r, field) for r in rows if r.model == m] for m in models]
        axis.boxplot(data)
        axis.set_xticks(range(1, len(models) + 1), models)
        axis.set_title(f"{label} per trial")
    return _png(figure)


def _failures(rows: list[TrialRow]) -> str:
    items = [r for r in rows if r.failure or r.attempts > 1]
    if not items:
        return "<p>No failures and no retries.</p>"
    cells = "".join(
        f"<tr><td>{html.escape(r.model)}</td><td>{html.escape(r.task)}</td><td>{r.failure or 'ok'}</td>"
        f"<td>{r.attempts}</td><td>{html.escape('; '.join(r.retried) or r.detail)[:400]}</td></tr>"
        for r in items)
    return ("<table><tr><th>model</th><th>task</th><th>final</th><th>attempts</th><th>what failed</th></tr>"
            f"{cells}</table>")


def _markdown_table(text: str) -> str:
    out = []
    for block in text.strip().split("\n\n"):
        lines = [line for line in block.splitlines() if not line.startswith("|---")]
        rows = [[html.escape(c.strip()) for c in line.strip("|").split("|")] for line in lines]
        head = "".join(f"<th>{c}</th>" for c in rows[0])
        body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows[1:])
        out.append(f"<table><tr>{head}</tr>{body}</table>")
    return "\n".join(out)


def write_report(rows: list[TrialRow], folder: Path, title: str = "lmc benchmark report") -> tuple[Path, Path]:
    """Write summary.md and report.html into folder; return their paths."""
    import matplotlib

    matplotlib.use("Agg")  # no screen needed to draw
    folder.mkdir(parents=True, exist_ok=True)
    table = summary.markdown(rows)
    md = folder / "summary.md"
    md.write_text(f"# {title}\n\n{table}")
    style = ("body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}"
             "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child{text-align:left}")
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{style}</style></head><body><h1>{html.escape(title)}</h1>"
            f"<h2>Summary</h2>{_markdown_table(table)}"
            f"<h2>Pass rates</h2><img alt='pass rates' src='data:image/png;base64,{_pass_rates(rows)}'>"
            f"<h2>Distributions</h2><img alt='distributions' src='data:image/png;base64,{_distributions(rows)}'>"
            f"<h2>Failures and retries</h2>{_failures(rows)}</body></html>")
    report = folder / "report.html"
    report.write_text(page)
    return md, report
