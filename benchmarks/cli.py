"""`lmc bench run|check|show|report|compare`: arguments here; the work in benchmarks.harness.commands.

It plugs into `lmc` through the `lmc.commands` entry point (pyproject.toml), so
the product never imports its benchmarks. The harness itself is loaded only when
a command runs, so `lmc --help` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path
from typing import Any

from executors.backends import backend_names

#: what `SUITE` may also be: the built-in offline suite
BUILTIN = "builtin"
#: where `lmc bench run` writes, and where `lmc serve`'s console looks for runs, unless told
OUTPUT = "bench-results"


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
    run.add_argument("--sandbox", choices=backend_names(), default="docker",
                     help="where each trial runs: docker runs each task in its own image, as Harbor does "
                          "(default); local runs the task's scripts on this host (a warning says so)")
    run.add_argument("--image-map", action="append", dest="image_map", default=[], metavar="FROM=LOCAL",
                     help="build task images FROM a local image instead, e.g. ubuntu:24.04=lmc-base:noble "
                          "(no registry needed); repeatable")
    run.add_argument("--verifier", choices=("shared", "separate"), default="shared",
                     help="where tests/test.sh runs: 'shared' in the agent's container once the agent has finished "
                          "(Harbor's way, default); 'separate' in a fresh container made from a snapshot of it")
    run.add_argument("--keep-services", action="store_true",
                     help="before the verifier, spare the agent's processes that listen on a TCP port (servers "
                          "the tests talk to, e.g. nginx or sshd a solution started, which Harbor leaves "
                          "running); every other process is still killed. Off: all are killed")
    run.add_argument("--record", action="store_true",
                     help="record each desktop task's screen into its trial folder as screen.mp4 (5 fps H.264; "
                          "needs ffmpeg: 'apt-get install ffmpeg'); other tasks have no screen to record")
    run.add_argument("--output", "-o", default=OUTPUT, metavar="DIR",
                     help="results.jsonl, one folder per trial and the report go here (default bench-results)")
    run.add_argument("--task", "-t", action="append", dest="tasks", metavar="NAME", help="only this task; repeatable")
    run.add_argument("--trials", type=int, default=1,
                     help="repetitions of each task per model (default 1); above 1 the summary adds pass@k")
    run.add_argument("--max-steps", type=int, default=10, help="model calls per trial (default 10)")
    run.add_argument("--max-tokens", type=int, default=None, help="token budget per trial")
    run.add_argument("--max-cost", type=float, default=None, help="USD budget per trial")
    run.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                     help="wall time per trial, instead of each task's [agent] timeout_sec")
    run.add_argument("--retries", type=int, default=2, help="retries after infrastructure failures (default 2)")
    run.add_argument("--api-base", default=None, help="base URL for the hosted models named")
    run.add_argument("--api-key", default=None, help="API key for them (else the provider's env variable)")
    run.add_argument("--ray", action="store_true", help="run the sessions in Ray worker actors")
    run.add_argument("--no-resume", dest="resume", action="store_false",
                     help="run every trial again even if results.jsonl has it (errored ones always run again)")
    run.add_argument("--no-progress", dest="progress", action="store_false", help="hide the progress display")


def _show_arguments(show: argparse.ArgumentParser) -> None:
    show.add_argument("run", metavar="RUN", help="the --output folder of a run")
    show.add_argument("task", metavar="TASK", help="the task's name")
    show.add_argument("--model", "-m", default=None, metavar="M", help="which model's trial (if several ran)")
    show.add_argument("--trial", type=int, default=None, metavar="N", help="which repetition (default the first)")
    show.add_argument("--full", action="store_true", help="show long outputs whole instead of their ends")


def register(sub: Any) -> None:
    """Add `bench` with its subcommands run, check, show, report and compare."""
    bench = sub.add_parser("bench", help="benchmark models on computer tasks",
                           description="Run models over Harbor-format task suites (Terminal-Bench 2.0 and "
                                       "others) on a fleet of sandboxes.")
    actions = bench.add_subparsers(dest="bench_command", metavar="ACTION", required=True)
    run = actions.add_parser(
        "run", help="run models x tasks; one JSONL row per trial; resumable",
        description="Run models over tasks. Each trial ends passed, failed or errored (not graded: the "
                    "environment, the verifier or the infrastructure failed). Exits 1 if any trial errored.")
    _run_arguments(run)
    run.set_defaults(handler=_handler("run_command"))

    check = actions.add_parser("check", help="lint a task folder or a suite: errors and warnings per task")
    check.add_argument("path", metavar="PATH", help=f"a task folder, a suite folder, or '{BUILTIN}'")
    check.add_argument("--need-solution", action="store_true", help="require solution/solve.sh in every task")
    check.add_argument("--image-map", action="append", dest="image_map", default=[], metavar="FROM=LOCAL",
                       help="as for `run`: FROM images that will be replaced by local ones; repeatable")
    check.set_defaults(handler=_handler("check_command"))

    show = actions.add_parser("show", help="print one trial: outcome, phases, the conversation, verifier output")
    _show_arguments(show)
    show.set_defaults(handler=_handler("show_command"))

    report = actions.add_parser("report", help="summary tables and HTML report with charts of a run")
    report.add_argument("results", metavar="DIR", help="the --output folder of a run (or its results.jsonl)")
    report.add_argument("--output", "-o", default=None, metavar="DIR", help="where to write (default: DIR)")
    report.set_defaults(handler=_handler("report_command"))

    compare = actions.add_parser("compare", help="compare two runs: pass rates and changed tasks")
    compare.add_argument("a", metavar="A", help="results folder of the first run")
    compare.add_argument("b", metavar="B", help="results folder of the second run")
    compare.set_defaults(handler=_handler("compare_command"))
    _serve_arguments(sub)


def _bench_routes(args: argparse.Namespace) -> list[Any]:
    routes = importlib.import_module("benchmarks.console.routes")
    return list(routes.routes(Path(args.bench_dir)))


def _serve_arguments(sub: Any) -> None:
    """Give `lmc serve` --bench-dir and the console's benchmark pages (the server never imports benchmarks)."""
    serve = sub.choices.get("serve")
    if serve is None:
        return
    serve.add_argument("--bench-dir", default=OUTPUT, metavar="DIR",
                       help=f"the folder of `lmc bench run` results the console shows (default {OUTPUT})")
    serve.set_defaults(serve_routes=[*serve.get_default("serve_routes"), _bench_routes])
