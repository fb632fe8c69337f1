"""Warm run and cold start of this tree against another commit, side by side in one run.

    python -m benchmarks.perf.compare_trees --base REV [--rounds 4] [--runs 200] [--cold 5]
                                            [--backends local,docker]

A change to the agent, the channel or the kernels must not make the hot path slower, and this
machine is shared and noisy: two figures taken minutes apart say little. So the base commit is
checked out into a temporary git worktree and both trees are measured in alternating rounds
(base, this, base, this, ...), each round a fresh Python process that imports only its own tree.
The table gives the median over rounds of each round's p50, and the ratio this/base.

Measured per backend: `run("python", "print(1)")` on a warm sandbox (ms per run), and a cold
start (a new sandbox to the first run's output). Docker needs a running engine and the sandbox
image (`.ci/docker-setup.sh`); a backend that cannot start is reported, not scored.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.table import Table

#: run in a child process whose sys.path starts with the measured tree; prints one JSON line
_PROBE = r"""
import json, statistics, sys, time
backend, runs, cold = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
from orchestrator.computer import Computer

def first_output(computer):
    start = time.perf_counter()
    for chunk in computer.run("python", "print(1)", stream=True):
        if chunk.type == "console":
            took = time.perf_counter() - start
    return took * 1000

colds = []
for _ in range(cold):
    start = time.perf_counter()
    with Computer(backend) as computer:
        first_output(computer)
        colds.append((time.perf_counter() - start) * 1000)
with Computer(backend) as computer:
    for _ in range(10):
        first_output(computer)
    warm = [first_output(computer) for _ in range(runs)]
print(json.dumps({"warm": statistics.median(warm), "cold": statistics.median(colds)}))
"""


@contextmanager
def checkout(repo: Path, rev: str) -> Iterator[Path]:
    """A detached git worktree of rev in a temporary folder, removed at the end."""
    with tempfile.TemporaryDirectory(prefix="lmc-compare-") as tmp:
        path = Path(tmp) / "base"
        subprocess.run(["git", "-C", str(repo), "worktree", "add", "--detach", "-q", str(path), rev],
                       check=True, capture_output=True, text=True)
        try:
            yield path
        finally:
            subprocess.run(["git", "-C", str(repo), "worktree", "remove", "--force", str(path)],
                           capture_output=True)


def _measure(tree: Path, backend: str, runs: int, cold: int) -> dict[str, float] | str:
    """One round in a fresh process importing only tree; an error text if it failed."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    proc = subprocess.run([sys.executable, "-c", _PROBE, backend, str(runs), str(cold)],
                          cwd=tree, env=env, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        return (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    """Measure both trees round by round and print the side-by-side table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--base", required=True, help="the commit to compare against (e.g. origin/main, HEAD~3)")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds per tree")
    parser.add_argument("--runs", type=int, default=200, help="warm runs per round")
    parser.add_argument("--cold", type=int, default=5, help="cold starts per round")
    parser.add_argument("--backends", default="local,docker", help="comma-separated backend names")
    args = parser.parse_args()
    repo = Path(__file__).resolve().parents[2]
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    console = Console(width=max(Console().width, 110))
    with checkout(repo, args.base) as base:
        figures: dict[tuple[str, str, str], list[float]] = {}
        failures: dict[tuple[str, str], str] = {}
        for round_no in range(args.rounds):
            for backend in backends:
                for label, tree in (("base", base), ("this", repo)):
                    got = _measure(tree, backend, args.runs, args.cold)
                    if isinstance(got, str):
                        failures[(label, backend)] = got
                        continue
                    for measure, value in got.items():
                        figures.setdefault((label, backend, measure), []).append(value)
            console.print(f"round {round_no + 1}/{args.rounds} done")
    rev = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", args.base],
                         capture_output=True, text=True).stdout.strip()
    table = Table(title=f"this tree vs {args.base} ({rev}), median of {args.rounds} alternating rounds, ms")
    for column in ("backend", "measure", "base p50", "this p50", "this/base"):
        table.add_column(column, justify="right")
    for backend in backends:
        for measure, name in (("warm", "warm run print(1)"), ("cold", "cold start to output")):
            a = figures.get(("base", backend, measure))
            b = figures.get(("this", backend, measure))
            if not a or not b:
                table.add_row(backend, name, "-" if not a else f"{statistics.median(a):.2f}",
                              "-" if not b else f"{statistics.median(b):.2f}", "not measured")
                continue
            ma, mb = statistics.median(a), statistics.median(b)
            table.add_row(backend, name, f"{ma:.2f}", f"{mb:.2f}", f"{mb / ma:.2f}x")
    console.print(table)
    for (label, backend), error in failures.items():
        console.print(f"[red]{label} tree, {backend}: a round failed: {error}[/red]")
    if failures:
        sys.exit(1)


if __name__ == "__main__":
    main()
