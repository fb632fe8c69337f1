"""Fleet throughput: N concurrent sessions x 10 steps, a scripted model, trivial code, one sandbox each.

    python -m benchmarks.perf.bench_fleet [--levels 1,8,32,128,256] [--steps 10] [--sandbox docker]
                                          [--out bench-results/fleet]
    python -m benchmarks.perf.bench_fleet --base REV [--rounds 3]   # CPU per step before/after
    python -m benchmarks.perf.bench_fleet --idle 100                # memory per idle session
    python -m benchmarks.perf.bench_fleet --levels 1000 --per-node 300  # 1,000 sessions, 300 sandboxes alive

Every session asks a scripted OpenAI-compatible server (real HTTP, real litellm, in
its own process) and gets `x = <i>` to run in Python (a new i each time: the same
code again and again is a stuck model), `steps` times, each in its own sandbox. Per
level: whether every session completed, sessions and steps per second, this
process's CPU per step (model client, loop, executor clients, sandbox creation
amortized), the time of one step (model call + run + feeding the result back) at
p50/p99, and the peak memory the machine used per session (MemAvailable sampled
every 0.2 s, sandboxes included). The table puts each level next to N=1; the plot
is the scaling curve.

`--base REV` measures this tree and REV side by side in alternating rounds
(benchmarks/perf/step_cost.py): CPU per step and steps/s, before and after.
`--idle K` holds K sessions waiting on a slow model, each with its started sandbox,
and reports the memory each one costs (the machine's and this process's share).

The machine is shared and noisy: compare the columns of one run, not runs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from benchmarks.perf.step_cost import scripted_server
from executors.backends import backend_names

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # the scripted server lives with the tests
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


@dataclass(frozen=True)
class Level:
    """What one concurrency level measured."""

    sessions: int
    completed: int
    wall: float
    sessions_per_s: float
    steps_per_s: float
    cpu_ms_per_step: float
    step_p50_ms: float
    step_p99_ms: float
    peak_mib_per_session: float
    failures: dict[str, int]


def _available_mib() -> float:
    with open("/proc/meminfo") as info:
        for line in info:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024
    return 0.0


class MemoryPeak:
    """Samples MemAvailable in a thread; `peak_used` is the largest drop below the baseline."""

    def __init__(self) -> None:
        self.baseline = _available_mib()
        self.lowest = self.baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.2):
            self.lowest = min(self.lowest, _available_mib())

    def stop(self) -> float:
        """Stop sampling; the peak MiB used above the baseline."""
        self._stop.set()
        self._thread.join()
        return self.baseline - self.lowest


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def _settings(url: str, data_dir: Path) -> Any:
    from orchestrator.settings import Settings

    return Settings(model="openai/scripted", api_base=url, api_key="x", mode="tools", context_window=65536,
                    data_dir=data_dir, max_retries=2, retry_delay=0.2)


def _cpu() -> float:
    times = os.times()
    return times.user + times.system


def run_level(n: int, steps: int, sandbox: str, data_dir: Path, per_node: int = 0) -> Level:
    """N sessions at once, each `steps` model calls and runs; at most `per_node` sandboxes alive (0: n)."""
    from orchestrator.fleet.fleet import Budget, Fleet, FleetConfig, SandboxConfig, SessionSpec

    with scripted_server(n * (steps + 1) + 10) as (url, _):
        settings = _settings(url, data_dir)
        specs = [SessionSpec(f"n{n}-s{i}", "run the code you are given", settings, Budget(steps=steps))
                 for i in range(n)]
        config = FleetConfig(max_sessions=n, max_retries=0, sandbox=SandboxConfig(sandbox, per_node=per_node or n))
        memory = MemoryPeak()
        started, cpu = time.monotonic(), _cpu()
        with Fleet(config) as fleet:
            results = list(fleet.run(specs))
        wall = time.monotonic() - started
        cpu = _cpu() - cpu
        peak = memory.stop()
    per_step = [r.wall_time / max(1, r.steps) * 1000 for r in results if r.steps]
    failures: dict[str, int] = {}
    for r in results:
        if r.failure not in (None, "budget"):
            failures[f"{r.failure}: {r.detail[:60]}"] = failures.get(f"{r.failure}: {r.detail[:60]}", 0) + 1
    completed = sum(1 for r in results if r.status == "max_steps" and r.steps == steps)
    total = sum(r.steps for r in results)
    return Level(n, completed, wall, n / wall, total / wall, cpu / max(total, 1) * 1000, _percentile(per_step, 0.5),
                 _percentile(per_step, 0.99), peak / n, failures)


def idle_memory(k: int, sandbox: str, data_dir: Path) -> dict[str, float]:
    """K sessions each waiting on a model that answers after 20 s, sandbox started: MiB each (machine, this process)."""
    from orchestrator.fleet.fleet import Budget, Fleet, FleetConfig, SandboxConfig, SessionSpec

    with scripted_server(k + 10, delay=20.0) as (url, _):
        specs = [SessionSpec(f"idle{i}", "wait", _settings(url, data_dir), Budget(steps=1))
                 for i in range(k)]
        config = FleetConfig(max_sessions=k, max_retries=0, sandbox=SandboxConfig(sandbox, per_node=k))
        memory, rss = MemoryPeak(), _rss_mib()
        peak_rss = rss
        with Fleet(config) as fleet:
            runner = threading.Thread(target=lambda: list(fleet.run(specs)), daemon=True)
            runner.start()
            while runner.is_alive():
                peak_rss = max(peak_rss, _rss_mib())
                runner.join(0.2)
        machine = memory.stop()
    return {"sessions": k, "machine_mib_per_session": machine / k, "process_mib_per_session": (peak_rss - rss) / k}


def _rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def table(levels: list[Level]) -> Table:
    """The levels side by side with N=1."""
    first = levels[0]
    out = Table(title="fleet throughput (ratios against the first level)")
    for name in ("sessions", "completed", "wall s", "sessions/s", "x first", "steps/s", "CPU ms/step", "step p50 ms",
                 "step p99 ms", "p50 x first", "peak MiB/session"):
        out.add_column(name, justify="right")
    for level in levels:
        out.add_row(str(level.sessions), str(level.completed), f"{level.wall:.1f}", f"{level.sessions_per_s:.2f}",
                    f"{level.sessions_per_s / first.sessions_per_s:.1f}", f"{level.steps_per_s:.1f}",
                    f"{level.cpu_ms_per_step:.1f}", f"{level.step_p50_ms:.0f}",
                    f"{level.step_p99_ms:.0f}", f"{level.step_p50_ms / max(first.step_p50_ms, 1e-9):.1f}",
                    f"{level.peak_mib_per_session:.0f}")
    return out


def plot(levels: list[Level], path: Path) -> None:
    """The scaling curve: sessions/s and step p50/p99 against concurrency."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [level.sessions for level in levels]
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    left.plot(xs, [level.sessions_per_s for level in levels], marker="o")
    left.set_xscale("log", base=2)
    left.set_xlabel("concurrent sessions")
    left.set_ylabel("sessions / s")
    left.set_title("throughput")
    right.plot(xs, [level.step_p50_ms for level in levels], marker="o", label="p50")
    right.plot(xs, [level.step_p99_ms for level in levels], marker="o", label="p99")
    right.set_xscale("log", base=2)
    right.set_yscale("log")
    right.set_xlabel("concurrent sessions")
    right.set_ylabel("ms per step")
    right.set_title("step time")
    right.legend()
    figure.savefig(path, dpi=90, bbox_inches="tight")


def main(argv: list[str] | None = None) -> None:
    """Run the levels, print the table, write JSON and the plot."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--levels", default="1,8,32,128,256", help="concurrency levels, comma-separated")
    parser.add_argument("--steps", type=int, default=10, help="steps per session")
    parser.add_argument("--sandbox", default="docker", choices=backend_names())
    parser.add_argument("--out", default="bench-results/fleet", help="folder for fleet.json and fleet-scaling.png")
    parser.add_argument("--base", help="compare CPU per step and steps/s with this commit (e.g. main) instead")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per tree with --base")
    parser.add_argument("--sessions", type=int, default=10, help="sessions one after another per round (--base)")
    parser.add_argument("--fleet", type=int, default=16, help="concurrent fleet sessions per round (--base)")
    parser.add_argument("--per-node", type=int, default=0,
                        help="most sandboxes alive at once (admission control; each Docker one holds ~23 MiB); "
                             "default: one per session")
    parser.add_argument("--idle", type=int, default=0, help="measure memory per idle session with this many instead")
    args = parser.parse_args(argv)
    console = Console(width=150)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.base:
        _before_after(args, out, console)
        return
    if args.idle:
        with tempfile.TemporaryDirectory(prefix="lmc-bench-fleet-") as data:
            idle = idle_memory(args.idle, args.sandbox, Path(data))
        console.print(idle)
        (out / f"idle-{args.sandbox}.json").write_text(json.dumps(idle, indent=1))
        return
    with tempfile.TemporaryDirectory(prefix="lmc-bench-fleet-") as data:
        run_level(1, 2, args.sandbox, Path(data))  # warm-up: first imports and the first sandbox, not measured
    levels: list[Level] = []
    for n in (int(x) for x in args.levels.split(",")):
        with tempfile.TemporaryDirectory(prefix="lmc-bench-fleet-") as data:
            level = run_level(n, args.steps, args.sandbox, Path(data), args.per_node)
        levels.append(level)
        console.print(f"N={n}: {level.completed}/{n} completed in {level.wall:.1f} s "
                      f"(step p50 {level.step_p50_ms:.0f} ms) {level.failures or ''}")
        (out / "fleet.json").write_text(json.dumps([asdict(x) for x in levels], indent=1))
    console.print(table(levels))
    plot(levels, out / "fleet-scaling.png")
    console.print(f"plot: {out / 'fleet-scaling.png'}")


def _before_after(args: argparse.Namespace, out: Path, console: Console) -> None:
    """CPU per step and steps/s of this tree against --base, side by side; the table also as text."""
    from benchmarks.perf.compare_trees import checkout
    from benchmarks.perf.step_cost import compare

    rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", args.base], capture_output=True,
                         text=True).stdout.strip() or args.base
    with checkout(ROOT, args.base) as base:
        table, figures = compare(ROOT, base, f"{args.base} ({rev})", args.sandbox, args.rounds, args.sessions,
                                 args.fleet, args.steps)
    console.print(table)
    (out / f"before-after-{args.sandbox}.json").write_text(json.dumps({"base": rev, **figures}, indent=1))
    with (out / f"before-after-{args.sandbox}.txt").open("w") as text:
        Console(file=text, width=100).print(table)


if __name__ == "__main__":
    main()
