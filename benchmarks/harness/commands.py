"""The work behind `lmc bench ...` (argument parsing lives in benchmarks.cli). CLI layer: prints."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from benchmarks.harness import results
from benchmarks.harness.results import TrialRow
from benchmarks.harness.suite import BUILTIN

log = logging.getLogger(__name__)

LOCAL_WARNING = ("warning: --sandbox local runs each task's own scripts (its environment, tests and solution) "
                 "on this host, as you; use --sandbox docker for tasks you did not write")


def _suite(path: str) -> Path:
    return BUILTIN if path == "builtin" else Path(path)


def _image_map(pairs: list[str] | None) -> dict[str, str]:
    if not pairs:
        return {}
    from benchmarks.harness.images import parse_image_map

    return parse_image_map(list(pairs))


def errored(rows: list[TrialRow], models: tuple[str, ...], tasks: tuple[str, ...] = ()) -> list[TrialRow]:
    """The errored rows of these models (and tasks): an output folder may hold other runs' rows too."""
    return [r for r in rows if not r.graded and r.model in models and (not tasks or r.task in tasks)]


def exit_code(rows: list[TrialRow], models: tuple[str, ...], tasks: tuple[str, ...] = ()) -> int:
    """What `lmc bench run` exits with: 1 if any of its trials errored (was not graded), else 0."""
    return 1 if errored(rows, models, tasks) else 0


def run_command(args: argparse.Namespace) -> int:
    """Run the models over the suite; print the summary; write the report. Exit 1 if any trial errored."""
    from benchmarks.harness.report import write_report
    from benchmarks.harness.runner import RunConfig, run_bench
    from benchmarks.harness.summary import markdown

    if args.sandbox == "local":
        print(LOCAL_WARNING, file=sys.stderr)
    config = RunConfig(
        suite=_suite(args.suite), output=Path(args.output), models=tuple(args.models),
        tasks=tuple(args.tasks or ()), trials=args.trials, parallel=args.parallel, sandbox=args.sandbox,
        max_steps=args.max_steps, max_tokens=args.max_tokens, max_cost=args.max_cost,
        timeout=args.timeout, max_retries=args.retries, api_base=args.api_base, api_key=args.api_key,
        ray=args.ray, resume=args.resume, progress=args.progress, image_map=_image_map(args.image_map),
        verifier=args.verifier, keep_services=args.keep_services, record=args.record)
    for _ in run_bench(config):
        pass
    rows = results.latest(results.read(config.output))
    md, report = write_report(rows, config.output)
    print(markdown(rows))
    print(f"results: {config.output / results.FILE}\nreport: {report}")
    bad = errored(rows, config.models, config.tasks)
    if bad:
        print(f"lmc: {len(bad)} trial(s) errored and were not graded; `lmc bench show {config.output} "
              f"{bad[0].task}` shows one; running the same command again retries them", file=sys.stderr)
    return exit_code(rows, config.models, config.tasks)


def check_command(args: argparse.Namespace) -> int:
    """Lint every task under the path (the linter lives in benchmarks.harness.check)."""
    from benchmarks.harness.check import check_command as lint

    return int(lint(args))


def show_command(args: argparse.Namespace) -> int:
    """Print one trial of a run readably."""
    from benchmarks.harness.show import pick, render

    run = Path(args.run)
    row = pick(results.read(run), args.task, args.model, args.trial)
    print(render(row, run if run.is_dir() else run.parent, full=args.full), end="")
    return 0


def report_command(args: argparse.Namespace) -> int:
    """Write summary.md and report.html for a run; print the summary."""
    from benchmarks.harness.report import write_report
    from benchmarks.harness.summary import markdown

    rows = results.latest(results.read(args.results))
    source = Path(args.results)
    run_dir = source if source.is_dir() else source.parent
    folder = Path(args.output) if args.output else run_dir
    md, report = write_report(rows, folder, run_dir=run_dir)
    print(markdown(rows))
    print(f"summary: {md}\nreport: {report}")
    return 0


def compare_command(args: argparse.Namespace) -> int:
    """Print run A against run B."""
    from benchmarks.harness.compare import compare_text

    a = results.latest(results.read(args.a))
    b = results.latest(results.read(args.b))
    print(compare_text(a, b, Path(args.a).name or "A", Path(args.b).name or "B"))
    return 0
