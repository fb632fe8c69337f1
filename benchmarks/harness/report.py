"""The HTML report: the summary tables and charts (matplotlib, embedded as PNG), then every failed and
errored trial, each with what went wrong and a link to its folder."""

from __future__ import annotations

import base64
import html
import io
import os
from pathlib import Path
from typing import Any

from benchmarks.harness import summary
from benchmarks.harness.results import TrialRow

STYLE = ("body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}"
         "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right;vertical-align:top}"
         "td:first-child,th:first-child{text-align:left}td.text{text-align:left;max-width:60em;"
         "white-space:pre-wrap}.errored{color:#a40}.failed{color:#a00}.passed{color:#070}p.note{color:#555}")


def _png(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode()


def _pass_rates(rows: list[TrialRow]) -> str:
    import matplotlib.pyplot as plt

    table = summary.by_category(rows)
    summaries = summary.by_model(rows)
    models = [s.model for s in summaries]
    categories = list(table)
    figure, axes = plt.subplots(1, 2, figsize=(12, 4), gridspec_kw={"width_ratios": [3, 1]})
    width = 0.8 / max(1, len(models))
    for i, model in enumerate(models):
        xs = [c + i * width for c in range(len(categories))]
        axes[0].bar(xs, [(table[c].get(model) or 0.0) * 100 for c in categories], width, label=model)
    axes[0].set_xticks([c + 0.4 - width / 2 for c in range(len(categories))], categories, rotation=30)
    axes[0].set_ylabel("pass rate % (graded trials)")
    axes[0].set_title("pass rate per category")
    axes[0].legend()
    rates = [(s.pass_rate or 0.0) * 100 for s in summaries]
    intervals = [s.interval or (0.0, 0.0) for s in summaries]
    errors = [[max(0.0, r - lo * 100) for r, (lo, _) in zip(rates, intervals, strict=True)],
              [max(0.0, hi * 100 - r) for r, (_, hi) in zip(rates, intervals, strict=True)]]
    axes[1].bar(models, rates, yerr=errors, capsize=6, color=[f"C{i}" for i in range(len(models))])
    axes[1].set_title("pass rate per model (95% Wilson)")
    axes[1].set_ylim(0, 100)
    return _png(figure)


def _distributions(rows: list[TrialRow]) -> str:
    import matplotlib.pyplot as plt

    models = [s.model for s in summary.by_model(rows)]
    figure, axes = plt.subplots(1, 3, figsize=(12, 3.5))
    for axis, name, label in zip(axes, ("wall_time", "steps", "tokens"), ("wall time s", "steps", "tokens"),
                                 strict=True):
        data = [[getattr(r, name) for r in rows if r.model == m] for m in models]
        axis.boxplot(data)
        axis.set_xticks(range(1, len(models) + 1), models)
        axis.set_title(f"{label} per trial")
    return _png(figure)


def _link(row: TrialRow, folder: Path, run_dir: Path | None) -> str:
    if not row.trial_dir:
        return ""
    target = (run_dir / row.trial_dir) if run_dir is not None else folder / row.trial_dir
    href = os.path.relpath(target, folder)
    return f"<a href='{html.escape(href)}/'>{html.escape(row.trial_dir)}</a>"


def _what(row: TrialRow) -> str:
    if row.outcome == "failed":
        what = f"reward {row.reward:g}" if row.reward is not None else "not passed"
        if row.failure == "budget":
            what += f"; ran out of budget ({row.status})" if row.status else "; ran out of budget"
        elif row.failure == "stuck":
            what += "; stopped: the model kept repeating itself"
        return what + (f"; {row.detail}" if row.detail else "")
    return f"{row.error_class}: {row.detail or 'no detail recorded'}"


def _unsuccessful(rows: list[TrialRow], folder: Path, run_dir: Path | None) -> str:
    """Every failed and errored trial, errored first; or a sentence saying that every trial passed."""
    items = sorted((r for r in rows if not r.passed), key=lambda r: (r.outcome != "errored", r.model, r.task, r.trial))
    if not items:
        return f"<p>Every one of the {len(rows)} trial(s) passed.</p>"
    cells = "".join(
        f"<tr><td>{html.escape(r.model)}</td><td>{html.escape(r.task)}</td><td>{r.trial}</td>"
        f"<td class='{r.outcome}'>{r.outcome}</td><td>{'-' if r.reward is None else f'{r.reward:g}'}</td>"
        f"<td>{r.attempts}</td><td class='text'>{html.escape(_what(r)[:2000])}"
        f"{html.escape(''.join(f'{chr(10)}retried: {x}' for x in r.retried)[:1000])}</td>"
        f"<td>{_link(r, folder, run_dir)}</td></tr>"
        for r in items)
    failed = sum(r.outcome == "failed" for r in items)
    return (f"<p>{failed} failed, {len(items) - failed} errored, of {len(rows)} trial(s).</p>"
            "<table><tr><th>model</th><th>task</th><th>trial</th><th>outcome</th><th>reward</th>"
            f"<th>attempts</th><th>what happened</th><th>folder</th></tr>{cells}</table>")


def _retried(rows: list[TrialRow]) -> str:
    items = [r for r in rows if r.passed and r.attempts > 1]
    if not items:
        return ""
    cells = "".join(f"<tr><td>{html.escape(r.model)}</td><td>{html.escape(r.task)}</td><td>{r.attempts}</td>"
                    f"<td class='text'>{html.escape('; '.join(r.retried)[:1000])}</td></tr>" for r in items)
    return ("<h2>Passed after retries</h2><table><tr><th>model</th><th>task</th><th>attempts</th>"
            f"<th>why earlier attempts were retried</th></tr>{cells}</table>")


def _table(table: summary.Table) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in table.body)
    note = f"<p class='note'>{html.escape(table.note)}</p>" if table.note else ""
    return f"<h2>{html.escape(table.title)}</h2><table><tr>{head}</tr>{body}</table>{note}"


def _charts(rows: list[TrialRow]) -> str:
    """The charts, or a line saying how to get them when matplotlib is not installed."""
    try:
        import matplotlib
    except ImportError:
        return ("<p class='note'>No charts: matplotlib is not installed; "
                "<code>pip install 'lmc[bench]'</code> and run <code>lmc bench report</code> again.</p>")
    matplotlib.use("Agg")  # no screen needed to draw
    return (f"<h2>Pass rates</h2><img alt='pass rates' src='data:image/png;base64,{_pass_rates(rows)}'>"
            f"<h2>Distributions</h2><img alt='distributions' src='data:image/png;base64,{_distributions(rows)}'>")


def write_report(rows: list[TrialRow], folder: Path, title: str = "lmc benchmark report",
                 run_dir: Path | None = None) -> tuple[Path, Path]:
    """Write summary.md and report.html into folder; return their paths.

    run_dir is the run's folder, which the rows' trial folders are relative to (default: folder).
    """
    folder.mkdir(parents=True, exist_ok=True)
    md = folder / "summary.md"
    md.write_text(f"# {title}\n\n{summary.markdown(rows)}")
    errored = sum(not r.graded for r in rows)
    verdict = (f"<p class='errored'><b>{errored} of {len(rows)} trial(s) errored</b>: not graded, listed below."
               "</p>" if errored else "")
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>{verdict}"
            + "".join(_table(t) for t in summary.tables(rows))
            + _charts(rows)
            + f"<h2>Failed and errored trials</h2>{_unsuccessful(rows, folder, run_dir)}{_retried(rows)}"
            "</body></html>")
    report = folder / "report.html"
    report.write_text(page)
    return md, report
