"""The figures docs/capacity.md rests on, measured on this machine: CPU per step by component,
container starts per second, memory per idle session.

    flock /tmp/lmc-heavy.lock python -m benchmarks.perf.capacity [--out benchmarks/results/capacity]

- `model_call`: CPU of one scripted-model call as lmc makes it (ModelClient.stream: litellm over
  real HTTP, streamed), in a process of its own, per call;
- `step`: step_cost's probe of this tree with docker sandboxes (one session at a time on a warm
  sandbox, then a small Fleet): lmc CPU per step; `loop` is lmc's step minus the model call;
  the Docker side (dockerd + containerd, their shims, and the containers' own cgroup: the
  agent's Python) over the whole probe, per step, container creation included;
- `code_run`: 200 code runs on one warm docker sandbox in this process: lmc's client CPU, the
  agent's (the container's own cgroup) and dockerd + containerd's, per run; the warm sandbox's memory;
- `containers`: `docker run -d` of the sandbox image then removal, one at a time and 4 at once:
  starts per second and Docker-side CPU per start;
- `idle`: bench_fleet's memory per idle docker session.

The machine is shared: Docker-side CPU counts every container on it (run under the heavy lock so
no other test runs), and every figure is one short run, not a distribution.
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.perf.bench_fleet import idle_memory
from benchmarks.perf.step_cost import ROOT, probe, scripted_server

IMAGE = "lmc-sandbox:latest"
#: every container's CPU, cumulative in ns (cgroup v1 cpuacct; the parent keeps removed containers' usage)
CONTAINERS_CPU = Path("/sys/fs/cgroup/cpuacct/docker/cpuacct.usage")
#: a container's memory (its cgroup's usage: processes and page cache)
CONTAINERS_MEMORY = Path("/sys/fs/cgroup/memory/docker")
TICK = os.sysconf("SC_CLK_TCK")

#: one model call as lmc makes it, in its own process: prints CPU ms per call
MODEL_CALL = r"""
import os, sys
from orchestrator.models.litellm_client import ModelClient, ModelConfig
client = ModelClient(ModelConfig(model="openai/scripted", api_base=sys.argv[1], api_key="x", mode="tools"))
tools = [{"type": "function", "function": {"name": "python", "description": "run python",
          "parameters": {"type": "object", "properties": {"code": {"type": "string"}}}}}]
messages = [{"role": "system", "content": "You run code."}, {"role": "user", "content": "go"}]
for _ in range(5):
    list(client.stream(messages, tools))
n = int(sys.argv[2])
t = os.times(); c0 = t.user + t.system
for _ in range(n):
    list(client.stream(messages, tools))
t = os.times()
print((t.user + t.system - c0) / n * 1000)
"""


def code_runs(count: int) -> dict[str, float]:
    """`count` code runs (`x = i`) on one warm docker sandbox, in this process: CPU per run by side."""
    import docker

    from orchestrator.computer import Computer

    before = {p.name for p in CONTAINERS_CPU.parent.iterdir()}
    with Computer(sandbox="docker") as computer:
        for i in range(5):
            computer.run("python", f"x = {i}")
        # the sandbox's container (new since, of our image; others may start containers meanwhile)
        client = docker.from_env()
        ids = [p.name for p in CONTAINERS_CPU.parent.iterdir() if p.is_dir() and p.name not in before
               and any(t.startswith("lmc-sandbox:") for t in client.containers.get(p.name).image.tags)]
        usage = [CONTAINERS_CPU.parent / cid / "cpuacct.usage" for cid in ids]
        memory = sum(int((CONTAINERS_MEMORY / cid / "memory.usage_in_bytes").read_text()) for cid in ids)
        t0, a0, d0 = os.times(), sum(int(u.read_text()) for u in usage), docker_cpu_s()
        for i in range(count):
            computer.run("python", f"x = {i}")
        t1, a1, d1 = os.times(), sum(int(u.read_text()) for u in usage), docker_cpu_s()
    agent, own = (a1 - a0) / 1e9, t1.user + t1.system - t0.user - t0.system
    return {"runs": count, "containers_seen": len(ids), "sandbox_mib": memory / max(len(ids), 1) / 2**20,
            "lmc_client_cpu_ms": own / count * 1000,
            "agent_cpu_ms": agent / count * 1000, "dockerd_containerd_cpu_ms": (d1 - d0 - agent) / count * 1000}


def _pids(name: str) -> list[int]:
    out = subprocess.run(["pgrep", "-x", name], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def docker_cpu_s() -> float:
    """CPU seconds so far of dockerd, containerd (with the shims they reaped) and every container."""
    total = 0
    for pid in _pids("dockerd") + _pids("containerd"):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    shims = sum(int(f) for pid in _pids("containerd-shim-runc-v2")
                for f in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[11:13])
    containers = int(CONTAINERS_CPU.read_text()) / 1e9 if CONTAINERS_CPU.is_file() else 0.0
    return (total + shims) / TICK + containers


def measured(work: Callable[[], Any]) -> tuple[Any, float, float]:
    """work(), its wall seconds and the Docker-side CPU seconds meanwhile."""
    d0, w0 = docker_cpu_s(), time.monotonic()
    result = work()
    return result, time.monotonic() - w0, docker_cpu_s() - d0


def model_call(url: str, calls: int) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    proc = subprocess.run([sys.executable, "-c", MODEL_CALL, url, str(calls)], env=env, capture_output=True,
                          text=True, timeout=600, check=True)
    return float(proc.stdout.strip().splitlines()[-1])


def container_starts(count: int, at_once: int) -> dict[str, float]:
    """`count` sandbox containers started (detached) and removed, `at_once` in parallel."""
    import docker

    client = docker.from_env()
    left = list(range(count))
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                if not left:
                    return
                left.pop()
            container = client.containers.run(IMAGE, ["sleep", "60"], detach=True, labels={"lmc-capacity": "1"})
            container.remove(force=True)

    def run() -> None:
        threads = [threading.Thread(target=worker) for _ in range(at_once)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    _, wall, cpu = measured(run)
    return {"containers": count, "at_once": at_once, "starts_per_s": count / wall,
            "docker_cpu_ms_per_start": cpu / count * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="benchmarks/results/capacity", help="folder for capacity.json")
    parser.add_argument("--sessions", type=int, default=10, help="sessions one after another in the step probe")
    parser.add_argument("--fleet", type=int, default=8, help="concurrent fleet sessions in the step probe")
    parser.add_argument("--idle", type=int, default=20, help="idle sessions for memory per session")
    args = parser.parse_args()
    steps = 10
    figures: dict[str, Any] = {"machine": {"cores": os.cpu_count(), "docker_cpu_counts_all_containers": True}}
    requests = (args.sessions + 1 + args.fleet) * (steps + 1) + 200
    with scripted_server(requests) as (url, pid):
        figures["model_call_cpu_ms"] = model_call(url, 100)
        got, wall, cpu = measured(lambda: probe(ROOT, url, pid, "docker", args.sessions, args.fleet, steps))
        if isinstance(got, str):
            raise SystemExit(f"the step probe failed: {got}")
        total = got["steps"] + got["fleet_completed"] * steps
        figures["step"] = {**got, "wall_s": wall, "steps_total": total, "containers_made": 1 + args.fleet,
                           "docker_cpu_ms_per_step": cpu / total * 1000,
                           "loop_cpu_ms": got["step_cpu_ms"] - figures["model_call_cpu_ms"]}
        figures["model_call_cpu_ms_again"] = model_call(url, 100)  # the spread of the two says the noise
    figures["code_run"] = code_runs(200)
    figures["containers"] = [container_starts(10, 1), container_starts(16, 4)]
    with tempfile.TemporaryDirectory() as data:
        figures["idle"] = idle_memory(args.idle, "docker", Path(data))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "capacity.json").write_text(json.dumps(figures, indent=1) + "\n")
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
