"""Docker sandbox timings against their targets: warm run, cold start, pool acquire.

    python -m benchmarks.perf.bench_docker [--runs 200] [--cold 10]

Measured side by side with the local backend in the same run (this machine is
shared and noisy: only side-by-side ratios mean much). Targets: docker warm run
p50 <= 5 ms, cold sandbox start to first output <= 400 ms, pool acquire <= 10 ms.
Published for reference: SWE-ReX's Docker runtime ~18.8 s to start, OpenHands ~15 s.
"docker engine alone" is the floor under a cold start: Docker creating, starting
and reaping a container that runs `true`, with no agent and no code of ours.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.table import Table

from executors.base import Executor
from executors.docker.executor import DockerConfig, DockerExecutor
from executors.docker.pool import PoolConfig, SandboxPool
from executors.local import LocalExecutor
from lmc.messages import Chunk

TARGETS = {"warm run": 5.0, "cold start to first output": 400.0, "pool acquire": 10.0}


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def _first_output(chunks: Iterator[Chunk]) -> float:
    """perf_counter() at the first console chunk; the rest of the run is drained after."""
    first = 0.0
    for chunk in chunks:
        if not first and chunk.type == "console":
            first = time.perf_counter()
    return first


def _samples(action: Callable[[], float], runs: int) -> list[float]:
    """ms from each call's start to the instant it returns."""
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        out.append((action() - start) * 1000)
    return out


def warm_run(make: Callable[[], Executor], runs: int) -> list[float]:
    """ms per `print(1)` on an already started sandbox and interpreter."""
    with make() as executor:
        for _ in range(10):
            _first_output(executor.run("python", "print(0)"))
        return _samples(lambda: _first_output(executor.run("python", "print(1)")), runs)


def cold_start(make: Callable[[], Executor], runs: int) -> list[float]:
    """ms from nothing to the first output of `print(1)` in a new sandbox."""

    def once() -> float:
        with make() as executor:
            return _first_output(executor.run("python", "print(1)"))

    return _samples(once, runs)


def engine_floor(runs: int) -> list[float]:
    """ms for Docker alone to create, start and finish a container running `true` (no agent)."""
    from executors.docker import client as docker_client
    from executors.docker.container import _host_config
    from executors.docker.image import default_tag

    api = docker_client.client().api

    def once() -> float:
        created = api.create_container(default_tag(), ["true"], host_config=_host_config(api, DockerConfig()))
        api.start(created["Id"])
        api.wait(created["Id"])
        done = time.perf_counter()
        api.remove_container(created["Id"], force=True, v=True)  # with its tmpfs volumes
        return done

    return _samples(once, runs)


def pool_timings(runs: int) -> tuple[list[float], list[float]]:
    """ms per acquire from a warm pool, and from asking for a session to its first output."""
    acquires, firsts = [], []
    with SandboxPool(PoolConfig(size=2)) as pool:
        for _ in range(runs):
            pool.wait_ready(timeout=60)
            start = time.perf_counter()
            transport = pool.acquire()
            acquires.append((time.perf_counter() - start) * 1000)
            transport.close()
            pool.wait_ready(timeout=60)
            firsts += cold_start(lambda: DockerExecutor(pool=pool), 1)
    return acquires, firsts


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="warm runs per backend")
    parser.add_argument("--cold", type=int, default=10, help="cold starts and pool acquires")
    args = parser.parse_args()
    acquires, pooled = pool_timings(args.cold)
    rows = {
        "warm run": (warm_run(DockerExecutor, args.runs), warm_run(LocalExecutor, args.runs)),
        "cold start to first output": (
            cold_start(DockerExecutor, args.cold), cold_start(LocalExecutor, args.cold)
        ),
        "docker engine alone: run `true`": (engine_floor(args.cold), None),
        "pool acquire": (acquires, None),
        "pooled session to first output": (pooled, None),
    }
    table = Table(title="docker sandbox timings, ms")
    columns = ("measure", "docker p50", "docker p95", "target", "target/p50", "local p50", "docker/local")
    for column in columns:
        table.add_column(column, justify="right")
    for name, (docker, local) in rows.items():
        p50, p95 = _percentiles(docker)
        target = TARGETS.get(name)
        verdict = "-" if target is None else f"{target / p50:.1f}x ({'ok' if p50 <= target else 'MISSED'})"
        local_p50 = _percentiles(local)[0] if local else None
        table.add_row(name, f"{p50:.2f}", f"{p95:.2f}", f"<= {target:g}" if target else "-", verdict,
                      f"{local_p50:.2f}" if local_p50 else "-",
                      f"{p50 / local_p50:.1f}x" if local_p50 else "-")
    console = Console(width=max(Console().width, 120))  # the table is unreadable wrapped
    console.print(table)
    console.print("published cold starts: SWE-ReX docker runtime ~18.8 s, OpenHands ~15 s")


if __name__ == "__main__":
    main()
