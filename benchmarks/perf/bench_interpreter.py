"""The conversation's own costs: overhead per step, start-up to the prompt, memory per idle session.

    python -m benchmarks.perf.bench_interpreter [--steps 60] [--sessions 200] [--no-ray]

- Overhead per step: a scripted OpenAI-compatible server answers at once, so a
  step (model call + running `pass` + feeding the result back) is what litellm,
  the Computer and our loop cost. The same chat runs in-process and through the
  Ray orchestrator actor; the raw litellm call and the raw Computer.run are
  measured alone so "our loop" is what is left.
- Start-up: spawn the chat CLI and wait for its prompt. Target <= 1.5 s (Open
  Interpreter's import alone took 2.3-2.6 s on this machine).
- Memory: open idle sessions in one orchestrator actor and divide the actor's
  RSS growth by their number. Target <= 5 MiB per session (no sandbox started).

The machine is shared and noisy: compare the columns of one run, not runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[2]
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")


def _p(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def _settings(url: str, data: Path, **extra: Any) -> Any:
    from orchestrator.settings import resolve

    return resolve(dict(model="openai/scripted", api_base=url, api_key="k", mode="tools", auto_run=True,
                        max_steps=10_000, data_dir=data, **extra), env={}, config_file=data / "none.toml")


def _step_times(make_interpreter: Callable[[str], Any], steps: int) -> list[float]:
    """Milliseconds between consecutive code chunks of one long chat: one step each."""
    from orchestrator.models.scripted_server import ScriptedServer, text, tool_call

    with ScriptedServer([*[tool_call("python", "pass")] * (steps + 5), text("done")]) as srv:
        interpreter = make_interpreter(srv.url)
        stamps = [time.perf_counter() for c in interpreter.chat("go", stream=True) if c.type == "code" and c.start]
        interpreter.close()
    gaps = [(b - a) * 1000 for a, b in zip(stamps, stamps[1:], strict=False)]
    return gaps[5:]  # the first steps import and warm up


def _raw_parts(steps: int, data: Path) -> tuple[list[float], list[float]]:
    """Milliseconds of one bare litellm call to the scripted server, and of one Computer.run('pass')."""
    from orchestrator.computer import Computer
    from orchestrator.models.litellm_client import ModelClient, ModelConfig
    from orchestrator.models.scripted_server import ScriptedServer, tool_call

    with ScriptedServer(default=tool_call("python", "pass")) as srv:
        client = ModelClient(ModelConfig("openai/scripted", api_base=srv.url, api_key="k", mode="tools"))
        model = []
        for _ in range(steps + 5):
            start = time.perf_counter()
            list(client.stream([{"role": "user", "content": "go"}]))
            model.append((time.perf_counter() - start) * 1000)
    with Computer() as computer:
        runs = []
        for _ in range(steps + 5):
            start = time.perf_counter()
            computer.run("python", "pass")
            runs.append((time.perf_counter() - start) * 1000)
    return model[5:], runs[5:]


def bench_steps(steps: int, use_ray: bool, table: Table) -> None:
    """Overhead per step, in-process and on Ray, with the parts measured alone."""
    from orchestrator.computer import Computer
    from orchestrator.session.interpreter import Interpreter

    data = Path(tempfile.mkdtemp(prefix="lmc-bench-"))
    model, run = _raw_parts(steps, data)
    local = _step_times(lambda url: Interpreter(_settings(url, data), computer=Computer()), steps)
    rows = [("bare litellm call", model), ("bare Computer.run('pass')", run), ("step, in-process", local)]
    if use_ray:
        import ray

        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {"PYTHONPATH": str(ROOT), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}})
        rows.append(("step, Ray actor", _step_times(lambda url: Interpreter(_settings(url, data, ray=True)),
                                                      steps)))
    base = statistics.median(model) + statistics.median(run)
    for name, samples in rows:
        p50, p99 = _p(samples)
        loop = f"{p50 - base:.1f}" if name.startswith("step") else ""
        ratio = f"{p50 / statistics.median(local):.2f}x" if name.startswith("step") else ""
        table.add_row(name, f"{p50:.1f}", f"{p99:.1f}", loop, ratio)


def bench_startup(runs: int) -> list[float]:
    """Seconds from spawning the chat CLI to its prompt on stdout."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), LMC_DATA_DIR=tempfile.mkdtemp(), TERM="dumb")
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "orchestrator", "--model", "openai/x"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=ROOT)
        assert proc.stdout is not None and proc.stdin is not None
        seen = b""
        while b"> " not in seen:
            byte = proc.stdout.read(1)
            if not byte:
                raise RuntimeError("the chat CLI exited before showing its prompt")
            seen += byte
        samples.append(time.perf_counter() - start)
        proc.stdin.close()
        proc.wait(timeout=30)
    return samples


def bench_idle_memory(sessions: int) -> float:
    """MiB of actor RSS per idle session hosted in one orchestrator actor."""
    import ray

    from orchestrator.ray.sessions import connect

    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}})
    data = Path(tempfile.mkdtemp(prefix="lmc-bench-"))
    settings = _settings("http://127.0.0.1:9/v1", data, ray=True)
    actor = connect(settings, name="lmc-bench-memory")

    def rss() -> float:
        return float(ray.get(actor.__ray_call__.remote(lambda self: _rss_mib())))

    for _ in range(20):  # warm: first sessions pay for imports, not for themselves
        ray.get(actor.open.remote(None, settings))
    before = rss()
    for _ in range(sessions):
        ray.get(actor.open.remote(None, settings))
    return (rss() - before) / sessions


def _rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def main(argv: list[str] | None = None) -> None:
    """Run the three benchmarks and print one table each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--startup-runs", type=int, default=5)
    parser.add_argument("--no-ray", action="store_true")
    args = parser.parse_args(argv)
    console = Console()
    steps = Table(title=f"Per step, {args.steps} steps (ms)")
    for column in ("what", "p50", "p99", "our loop p50", "vs in-process"):
        steps.add_column(column)
    bench_steps(args.steps, not args.no_ray, steps)
    console.print(steps)
    startup = bench_startup(args.startup_runs)
    other = Table(title="Start-up and memory")
    for column in ("what", "measured", "target", "reference"):
        other.add_column(column)
    other.add_row("start-up to prompt (s), median", f"{statistics.median(startup):.2f}", "1.5",
                  "Open Interpreter import: 2.3-2.6")
    if not args.no_ray:
        per = bench_idle_memory(args.sessions)
        name = f"idle session in actor (MiB), {args.sessions} sessions"
        other.add_row(name, f"{per:.3f}", "5.0", "Ray actor: ~48")
    console.print(other)


if __name__ == "__main__":
    main()
