"""`lmc bench run|check|report|compare`: arguments here; the work in benchmarks.harness.commands.

The harness sits above the orchestrator (benchmarks <- orchestrator), so this
module never imports it at load time: each handler loads it by name when the
command runs, like a plugin, and `lmc --help` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
from typing import Any

#: what `SUITE` may also be: the built-in offline suite
BUILTIN = "builtin"


def _handler(name: str) -> Any:
    def run(args: argparse.Namespace) -> int:
        commands = importlib.import_module("benchmarks.harness.commands")
        return int(getattr(commands, name)(args))

    return run


def _run_arguments(run: argparse.ArgumentParser) -> None:
    run.add_argument("suite", metavar="SUITE", help=f"a suite folder, one task folder, or '{BUILTIN}'")
    run.add_argument("--model", "-m", action="append", dest="models", metavar="M", required=True,
                     help="litellm model name, 'local' (embedded SmolLM2), or the pseudo-models "
                          "'oracle' / 'null'; repeat for several")
    run.add_argument("--parallel", "-p", type=int, default=4, metavar="N", help="sessions at once (default 4)")
    run.add_argument("--sandbox", choices=("local", "docker", "e2b"), default="local",
                     help="where each trial runs (default local)")
    run.add_argument("--output", "-o", default="bench-results", metavar="DIR",
                     help="results.jsonl, transcripts and the report go here (default bench-results)")
    run.add_argument("--task", "-t", action="append", dest="tasks", metavar="NAME", help="only this task; repeatable")
    run.add_argument("--trials", type=int, default=1, help="repetitions of each task per model (default 1)")
    run.add_argument("--max-steps", type=int, default=10, help="model calls per trial (default 10)")
    run.add_argument("--max-tokens", type=int, default=None, help="token budget per trial")
    run.add_argument("--max-cost", type=float, default=None, help="USD budget per trial")
    run.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                     help="wall time per trial, instead of each task's [agent] timeout_sec")
    run.add_argument("--retries", type=int, default=2, help="retries after infrastructure failures (default 2)")
    run.add_argument("--api-base", default=None, help="base URL for the hosted models named")
    run.add_argument("--api-key", default=None, help="API key for them (else the provider's env variable)")
    run.add_argument("--warm", type=int, default=0, help="docker sandboxes kept started ahead (default 0)")
    run.add_argument("--ray", action="store_true", help="run the sessions in Ray worker actors")
    run.add_argument("--no-resume", dest="resume", action="store_false",
                     help="run every trial again even if results.jsonl has it")
    run.add_argument("--no-progress", dest="progress", action="store_false", help="hide the progress display")


def register(sub: Any) -> None:
    """Add `bench` with its subcommands run, check, report and compare."""
    bench = sub.add_parser("bench", help="benchmark models on computer tasks",
                           description="Run models over Harbor-layout task suites on a fleet of sandboxes.")
    actions = bench.add_subparsers(dest="bench_command", metavar="ACTION", required=True)
    run = actions.add_parser("run", help="run models x tasks; one JSONL row per trial; resumable")
    _run_arguments(run)
    run.set_defaults(handler=_handler("run_command"))

    check = actions.add_parser("check", help="validate a task folder or a suite")
    check.add_argument("path", metavar="PATH", help=f"a task folder, a suite folder, or '{BUILTIN}'")
    check.add_argument("--need-solution", action="store_true", help="require solution/solve.sh in every task")
    check.set_defaults(handler=_handler("check_command"))

    report = actions.add_parser("report", help="summary table and HTML report with charts of a run")
    report.add_argument("results", metavar="DIR", help="the --output folder of a run (or its results.jsonl)")
    report.add_argument("--output", "-o", default=None, metavar="DIR", help="where to write (default: DIR)")
    report.set_defaults(handler=_handler("report_command"))

    compare = actions.add_parser("compare", help="compare two runs: pass rates and changed tasks")
    compare.add_argument("a", metavar="A", help="results folder of the first run")
    compare.add_argument("b", metavar="B", help="results folder of the second run")
    compare.set_defaults(handler=_handler("compare_command"))
