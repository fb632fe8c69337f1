"""Fleet throughput: N concurrent sessions x 10 steps, a scripted model, trivial code, one sandbox each.

    python -m benchmarks.perf.bench_fleet [--levels 1,8,32,128,256] [--steps 10] [--sandbox docker]
                                          [--out bench-results/fleet]

Every session asks a scripted OpenAI-compatible server (real HTTP, real litellm)
and gets `x = 1` to run in Python, `steps` times, each in its own sandbox. Per
level: whether every session completed, sessions per second, the time of one
step (model call + run + feeding the result back) at p50/p99, and the peak memory
the machine used per session (MemAvailable sampled every 0.2 s, sandboxes
included). The table puts each level next to N=1; the plot is the scaling curve.
The target is 200 concurrent sessions with every one completing.

The machine is shared and noisy: compare the columns of one run, not runs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

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


def run_level(n: int, steps: int, sandbox: str, data_dir: Path) -> Level:
    """N sessions at once, each `steps` model calls and runs."""
    from orchestrator.fleet.fleet import Budget, Fleet, FleetConfig, SandboxConfig, SessionSpec
    from orchestrator.models.scripted_server import ScriptedServer, tool_call
    from orchestrator.settings import Settings

    with ScriptedServer(default=tool_call("python", "x = 1")) as server:
        settings = Settings(model="openai/scripted", api_base=server.url, api_key="x", mode="tools",
                            context_window=65536, data_dir=data_dir, max_retries=2, retry_delay=0.2)
        specs = [SessionSpec(f"n{n}-s{i}", "run x = 1", settings, Budget(steps=steps)) for i in range(n)]
        config = FleetConfig(max_sessions=n, max_retries=0, sandbox=SandboxConfig(sandbox, per_node=n))
        memory = MemoryPeak()
        started = time.monotonic()
        with Fleet(config) as fleet:
            results = list(fleet.run(specs))
        wall = time.monotonic() - started
        peak = memory.stop()
    per_step = [r.wall_time / max(1, r.steps) * 1000 for r in results if r.steps]
    failures: dict[str, int] = {}
    for r in results:
        if r.failure not in (None, "budget"):
            failures[f"{r.failure}: {r.detail[:60]}"] = failures.get(f"{r.failure}: {r.detail[:60]}", 0) + 1
    completed = sum(1 for r in results if r.status == "max_steps" and r.steps == steps)
    return Level(n, completed, wall, n / wall, _percentile(per_step, 0.5), _percentile(per_step, 0.99),
                 peak / n, failures)


def table(levels: list[Level]) -> Table:
    """The levels side by side with N=1."""
    first = levels[0]
    out = Table(title="fleet throughput (ratios against the first level)")
    for name in ("sessions", "completed", "wall s", "sessions/s", "x first", "step p50 ms", "step p99 ms",
                 "p50 x first", "peak MiB/session"):
        out.add_column(name, justify="right")
    for level in levels:
        out.add_row(str(level.sessions), str(level.completed), f"{level.wall:.1f}", f"{level.sessions_per_s:.2f}",
                    f"{level.sessions_per_s / first.sessions_per_s:.1f}", f"{level.step_p50_ms:.0f}",
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
    args = parser.parse_args(argv)
    console = Console(width=150)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lmc-bench-fleet-") as data:
        run_level(1, 2, args.sandbox, Path(data))  # warm-up: first imports and the first sandbox, not measured
    levels: list[Level] = []
    for n in (int(x) for x in args.levels.split(",")):
        with tempfile.TemporaryDirectory(prefix="lmc-bench-fleet-") as data:
            level = run_level(n, args.steps, args.sandbox, Path(data))
        levels.append(level)
        console.print(f"N={n}: {level.completed}/{n} completed in {level.wall:.1f} s "
                      f"(step p50 {level.step_p50_ms:.0f} ms) {level.failures or ''}")
        (out / "fleet.json").write_text(json.dumps([asdict(x) for x in levels], indent=1))
    console.print(table(levels))
    plot(levels, out / "fleet-scaling.png")
    console.print(f"plot: {out / 'fleet-scaling.png'}")


if __name__ == "__main__":
    main()
