"""The work behind `lmc bench ...` (argument parsing lives in orchestrator.bench_cli). CLI layer: prints."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from benchmarks.harness import results
from benchmarks.harness.suite import BUILTIN, check_suite

log = logging.getLogger(__name__)


def _suite(path: str) -> Path:
    return BUILTIN if path == "builtin" else Path(path)


def run_command(args: argparse.Namespace) -> int:
    """Run the models over the suite; print the summary; write the report next to the results."""
    from benchmarks.harness.report import write_report
    from benchmarks.harness.runner import RunConfig, run_bench
    from benchmarks.harness.summary import markdown

    config = RunConfig(
        suite=_suite(args.suite), output=Path(args.output), models=tuple(args.models),
        tasks=tuple(args.tasks or ()), trials=args.trials, parallel=args.parallel, sandbox=args.sandbox,
        warm=args.warm, max_steps=args.max_steps, max_tokens=args.max_tokens, max_cost=args.max_cost,
        timeout=args.timeout, max_retries=args.retries, api_base=args.api_base, api_key=args.api_key,
        ray=args.ray,
        resume=args.resume, progress=args.progress)
    for _ in run_bench(config):
        pass
    rows = results.latest(results.read(config.output))
    md, report = write_report(rows, config.output)
    print(markdown(rows))
    print(f"results: {config.output / results.FILE}\nreport: {report}")
    return 0


def check_command(args: argparse.Namespace) -> int:
    """Validate every task under the path; list each problem with its fix; exit 1 if any."""
    path = _suite(args.path)
    from benchmarks.harness.suite import task_folders

    folders = task_folders(path)
    broken = check_suite(path, need_solution=args.need_solution)
    for name, problems in broken.items():
        print(f"{name}: invalid")
        for problem in problems:
            print(f"  - {problem}")
    print(f"{len(folders) - len(broken)} of {len(folders)} task(s) valid")
    return 1 if broken else 0


def report_command(args: argparse.Namespace) -> int:
    """Write summary.md and report.html for a run; print the summary."""
    from benchmarks.harness.report import write_report
    from benchmarks.harness.summary import markdown

    rows = results.latest(results.read(args.results))
    source = Path(args.results)
    folder = Path(args.output) if args.output else (source if source.is_dir() else source.parent)
    md, report = write_report(rows, folder)
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
