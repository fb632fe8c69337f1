"""Latency of `run("python", "print(1)")` in-process, over SSE and over WebSocket, in alternating rounds."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from rich.table import Table

from benchmarks.perf.server.process import Server

#: the latency target: ms the server may add to a run at p50
TARGET_ADDED_P50_MS = 2.0
CODE = "print(1)"
#: how often a base server's SSE path retries a run it answered Busy (its release raced `done`)
BUSY_RETRIES = 100
#: the path of the SSE route read by the standard library's client
SSE_STDLIB = "SSE, http.client"


def percentile(values: list[float], q: float) -> float:
    """The q-quantile of values (nearest rank); 0 for none."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


@dataclass(frozen=True)
class PathLatency:
    """One path's figures, ms."""

    path: str
    samples: int
    p50: float
    p99: float
    added_p50: float
    added_p99: float


def _timed(run: Callable[[], str], runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        printed = run()
        samples.append((time.perf_counter() - start) * 1000)
        if printed != "1\n":
            raise SystemExit(f"a run printed {printed!r}, not '1\\n'")
    return samples


def _runners(servers: dict[str, Server], stack: Any) -> dict[str, Callable[[], str]]:
    """path name -> a call that runs CODE once and returns what it printed; SSE and WebSocket per server."""
    from orchestrator.computer import Computer

    local = stack.enter_context(Computer("local"))
    runners: dict[str, Callable[[], str]] = {"in-process": lambda: _printed(local.run("python", CODE))}
    for label, server in servers.items():
        runners[f"HTTP (SSE){label}"] = _sse_runner(server, stack, keep_alive=not label)
        if not label:
            runners[SSE_STDLIB] = _stdlib_sse_runner(server, stack)
        runners[f"WebSocket{label}"] = _ws_runner(server, stack)
    return runners


def _stdlib_sse_runner(server: Server, stack: Any) -> Callable[[], str]:
    """The SSE route through the standard library's http.client on a kept connection: the server's share
    of the SSE path without httpx's (RemoteComputer's) own time."""
    import http.client
    from urllib.parse import urlsplit

    from orchestrator.client import RemoteComputer

    computer = stack.enter_context(RemoteComputer(server.url, server.token, "local"))
    where = urlsplit(server.url)
    connection = http.client.HTTPConnection(where.hostname or "127.0.0.1", where.port, timeout=60)
    stack.callback(connection.close)
    body = json.dumps({"language": "python", "code": CODE})
    headers = {"Authorization": f"Bearer {server.token}", "Content-Type": "application/json"}

    def run() -> str:
        connection.request("POST", f"/computers/{computer.id}/run", body, headers)
        answer = connection.getresponse().read().decode()
        frames = [json.loads(line[5:]) for line in answer.splitlines() if line.startswith("data:")]
        return read_run(iter([*frames[:-1], {"role": "server", "content": "complete"}]).__next__)[0]

    return run


def _sse_runner(server: Server, stack: Any, keep_alive: bool) -> Callable[[], str]:
    """RemoteComputer.run; without keep_alive a new connection per run, as the client did before it read
    each answer to its end (a base server from before then may answer Busy on a kept connection: it
    released the computer only after sending `done`)."""
    import httpx

    from orchestrator.client import RemoteComputer

    remote = stack.enter_context(RemoteComputer(server.url, server.token, "local"))
    if not keep_alive:
        old = remote.connection.http
        remote.connection.http = httpx.Client(base_url=old.base_url, headers=old.headers, timeout=old.timeout,
                                              limits=httpx.Limits(max_keepalive_connections=0))
        old.close()

    def run() -> str:
        from orchestrator.server.errors import Busy

        for _ in range(BUSY_RETRIES):  # a base server from before released the computer after `done`
            try:
                return _printed(remote.run("python", CODE))
            except Busy:
                if keep_alive:
                    raise
                time.sleep(0.001)
        raise SystemExit(f"the computer stayed busy through {BUSY_RETRIES} retries")

    return run


def _ws_runner(server: Server, stack: Any) -> Callable[[], str]:
    from websockets.sync.client import connect

    from orchestrator.client import RemoteComputer

    computer = stack.enter_context(RemoteComputer(server.url, server.token, "local"))
    ws = stack.enter_context(connect(f"{server.ws}/computers/{computer.id}/ws",
                                     additional_headers={"Authorization": f"Bearer {server.token}"}))

    def run() -> str:
        ws.send(json.dumps({"language": "python", "code": CODE}))
        return read_run(lambda: json.loads(ws.recv(timeout=60)))[0]

    return run


def _printed(messages: list[Any]) -> str:
    return "".join(str(m.content) for m in messages if m.type == "console" and m.format == "output")


def read_run(receive: Callable[[], dict[str, Any]]) -> tuple[str, int, int]:
    """Frames up to `complete`: (the output printed, start chunks, end chunks); an error frame exits."""
    printed: list[str] = []
    starts = ends = 0
    while True:
        frame = receive()
        if "error" in frame:
            raise RuntimeError(f"{frame['error']}: {frame.get('message')}")
        if frame.get("role") == "server" and frame.get("content") == "complete":
            return "".join(printed), starts, ends
        starts += bool(frame.get("start"))
        ends += bool(frame.get("end"))
        if frame.get("type") == "console" and frame.get("format") == "output":
            printed.append(str(frame.get("content") or ""))


def measure_latency(servers: dict[str, Server], rounds: int, runs: int,
                    progress: Callable[[str], None]) -> list[PathLatency]:
    """Each path `runs` times a round, `rounds` rounds, the order rotated; the figures per path."""
    with ExitStack() as stack:
        runners = _runners(servers, stack)
        names = list(runners)
        for run in runners.values():  # warm: the agents start, imports and connections happen
            _timed(run, 10)
        samples: dict[str, list[float]] = {name: [] for name in names}
        per_round: dict[str, list[float]] = {name: [] for name in names}
        for index in range(rounds):
            order = names[index % len(names):] + names[:index % len(names)]
            for name in order:
                taken = _timed(runners[name], runs)
                samples[name] += taken
                per_round[name].append(statistics.median(taken))
            progress(f"latency round {index + 1}/{rounds}: "
                     + ", ".join(f"{n} {per_round[n][-1]:.2f} ms" for n in names))
    base = names[0]
    return [PathLatency(name, len(samples[name]), percentile(samples[name], 0.5), percentile(samples[name], 0.99),
                        statistics.median(a - b for a, b in zip(per_round[name], per_round[base], strict=True)),
                        percentile(samples[name], 0.99) - percentile(samples[base], 0.99))
            for name in names]


def latency_table(paths: list[PathLatency]) -> Table:
    """p50/p99 per path and what the server adds."""
    table = Table(title=f'run("python", "{CODE}") on a warm local computer, ms (rounds interleaved)')
    for column in ("path", "samples", "p50", "p99", "added p50", "added p99", "target"):
        table.add_column(column, justify="right")
    for p in paths:
        remote = p.path != "in-process"
        verdict = ("ok" if p.added_p50 < TARGET_ADDED_P50_MS else "MISSED") if remote else ""
        table.add_row(p.path, str(p.samples), f"{p.p50:.2f}", f"{p.p99:.2f}",
                      f"{p.added_p50:+.2f}" if remote else "-", f"{p.added_p99:+.2f}" if remote else "-",
                      f"< {TARGET_ADDED_P50_MS:g} ({verdict})" if remote else "")
    return table
