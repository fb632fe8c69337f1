"""CPU per agent step and steps/s, of this tree and of another commit, side by side in one run.

    python -m benchmarks.perf.bench_fleet --base REV [--rounds 3] [--sandbox docker]

A step is one model call (litellm over real HTTP to the scripted server), the loop, and one code run.
Each round runs a fresh Python process per tree (base, this, base, this, ...), importing only that
tree, and measures two things:

- `step`: one session at a time on a warm sandbox, `sessions` x 10 steps: the lmc process's CPU
  per step (every thread: model client, loop, executor client), the agent's and the model server's;
- `fleet`: `fleet` sessions at once through Fleet (threads, a fresh sandbox each, 10 steps): steps/s
  and lmc CPU per step (sandbox creation included, amortized over the steps).

The scripted model server always runs from this tree, in its own process, so both trees talk to the
same server and its CPU (it stands in for a remote model) is counted apart. The machine is shared
and noisy: compare the columns of one run (median of the rounds), not runs.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.table import Table

ROOT = Path(__file__).resolve().parents[2]

#: the scripted model: a distinct `x = i` per request (the same code over and over is "stuck")
SERVER = r"""
import dataclasses, sys
from orchestrator.models.scripted_server import ScriptedServer, tool_call
replies, delay = int(sys.argv[1]), float(sys.argv[2])
script = [dataclasses.replace(tool_call("python", f"x = {i}"), delay=delay) for i in range(replies)]
with ScriptedServer(script) as server:
    print(server.url, flush=True)
    sys.stdin.read()
"""

#: run with the measured tree first on sys.path; prints one JSON line
PROBE = r"""
import json, os, sys, tempfile, time
from pathlib import Path
url, sandbox = sys.argv[1], sys.argv[2]
sessions, fleet_n, steps, server_pid = (int(x) for x in sys.argv[3:7])
from orchestrator.computer import Computer
from orchestrator.fleet.fleet import Budget, Fleet, FleetConfig, SandboxConfig, SessionSpec
from orchestrator.session.interpreter import Interpreter
from orchestrator.settings import Settings

def jiffies(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except FileNotFoundError:
        return 0

def tree_jiffies(pid):
    kids = f"/proc/{pid}/task/{pid}/children"
    children = open(kids).read().split() if os.path.exists(kids) else []
    return jiffies(pid) + sum(tree_jiffies(int(c)) for c in children)

tick = os.sysconf("SC_CLK_TCK")
def own_cpu():
    t = os.times()
    return t.user + t.system

out = {}
with tempfile.TemporaryDirectory() as data:
    settings = Settings(model="openai/scripted", api_base=url, api_key="x", mode="tools", context_window=65536,
                        data_dir=Path(data), auto_run=True, max_steps=steps, max_retries=2, retry_delay=0.2)
    with Computer(sandbox=sandbox) as computer:
        Interpreter(settings, computer=computer).chat("go")  # warm-up: imports, first connection
        agents = [int(c) for c in open(f"/proc/{os.getpid()}/task/{os.getpid()}/children").read().split()
                  if int(c) != server_pid]
        c0, s0, a0, w0 = own_cpu(), jiffies(server_pid), sum(tree_jiffies(a) for a in agents), time.monotonic()
        done = 0
        for _ in range(sessions):
            done += sum(1 for m in Interpreter(settings, computer=computer).chat("go")
                        if m.role == "assistant" and m.type == "code")
        n = max(done, 1)
        out["step_cpu_ms"] = (own_cpu() - c0) / n * 1000
        out["step_server_ms"] = (jiffies(server_pid) - s0) / tick / n * 1000
        out["step_agent_ms"] = (sum(tree_jiffies(a) for a in agents) - a0) / tick / n * 1000
        out["step_wall_ms"] = (time.monotonic() - w0) / n * 1000
        out["steps"] = done
    specs = [SessionSpec(f"s{i}", "go", settings, Budget(steps=steps)) for i in range(fleet_n)]
    config = FleetConfig(max_sessions=fleet_n, max_retries=0, sandbox=SandboxConfig(sandbox, per_node=fleet_n))
    with Fleet(config) as fleet:
        c0, w0 = own_cpu(), time.monotonic()
        results = list(fleet.run(specs))
        wall = time.monotonic() - w0
    total = sum(r.steps for r in results)
    out["fleet_steps_per_s"] = total / wall
    out["fleet_cpu_ms"] = (own_cpu() - c0) / max(total, 1) * 1000
    out["fleet_completed"] = sum(1 for r in results if r.status == "max_steps")
print(json.dumps(out))
"""

#: (key, label, format) of the table's rows
ROWS = (("step_cpu_ms", "lmc CPU per step, ms", "{:.1f}"), ("step_agent_ms", "agent CPU per step, ms", "{:.2f}"),
        ("step_server_ms", "model server CPU per step, ms", "{:.2f}"), ("step_wall_ms", "wall per step, ms", "{:.1f}"),
        ("fleet_steps_per_s", "fleet steps/s", "{:.1f}"), ("fleet_cpu_ms", "fleet lmc CPU per step, ms", "{:.1f}"),
        ("fleet_completed", "fleet sessions completed", "{:.0f}"))


def probe(tree: Path, url: str, server_pid: int, sandbox: str, sessions: int, fleet: int, steps: int
          ) -> dict[str, float] | str:
    """One round in a fresh process importing only `tree`; an error text if it failed."""
    env = {**os.environ, "PYTHONPATH": str(tree), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    args = [url, sandbox, str(sessions), str(fleet), str(steps), str(server_pid)]
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=tree, env=env, capture_output=True, text=True,
                          timeout=1800)
    if proc.returncode != 0:
        return (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


@contextmanager
def scripted_server(replies: int, delay: float = 0.0) -> Iterator[tuple[str, int]]:
    """The scripted model from this tree in its own process (its CPU is not lmc's): its URL and pid."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(replies), str(delay)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, env=env, text=True)
    try:
        assert server.stdout is not None
        yield server.stdout.readline().strip(), server.pid
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(timeout=60)


def compare(repo: Path, base: Path, rev: str, sandbox: str, rounds: int, sessions: int, fleet: int,
            steps: int) -> tuple[Table, dict[str, dict[str, list[float]]]]:
    """Alternating rounds of both trees against one scripted server; the table and the raw figures."""
    requests = (rounds * 2) * (sessions + 1 + fleet) * (steps + 1) + 100
    figures: dict[str, dict[str, list[float]]] = {"base": {}, "this": {}}
    with scripted_server(requests) as (url, pid):
        for _ in range(rounds):
            for label, tree in (("base", base), ("this", repo)):
                got = probe(tree, url, pid, sandbox, sessions, fleet, steps)
                if isinstance(got, str):
                    raise RuntimeError(f"{label} tree failed a round: {got}")
                for key, value in got.items():
                    figures[label].setdefault(key, []).append(value)
    table = Table(title=f"{sandbox}: this tree vs {rev}, median of {rounds} alternating rounds")
    for column in ("measure", "base", "this", "this/base"):
        table.add_column(column, justify="right")
    for key, label, fmt in ROWS:
        a, b = statistics.median(figures["base"][key]), statistics.median(figures["this"][key])
        table.add_row(label, fmt.format(a), fmt.format(b), f"{b / a:.2f}x" if a else "-")
    return table, figures
