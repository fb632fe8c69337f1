"""Many WebSocket clients streaming a run at the same moment, each on its own computer."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rich.table import Table

from benchmarks.perf.server.latency import percentile, read_run
from benchmarks.perf.server.process import Server

#: computers warmed at once before the burst (agent start-ups are CPU-bound)
WARM_AT_ONCE = 8


@dataclass
class Burst:
    """What the concurrent streams did."""

    clients: int
    lines: int
    completed: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    connect_s: float = 0.0
    warm_s: float = 0.0
    burst_s: float = 0.0
    stream_p50_ms: float = 0.0
    stream_p99_ms: float = 0.0
    server_rss_mib: float = 0.0
    server_peak_rss_mib: float = 0.0
    server_threads: int = 0
    server_fds: int = 0
    agents_rss_mib: float = 0.0

    def fail(self, why: BaseException | str) -> None:
        """Count one failed client under its reason."""
        key = why if isinstance(why, str) else f"{type(why).__name__}: {str(why)[:80]}"
        self.failures[key] = self.failures.get(key, 0) + 1


class Client:
    """One WebSocket client on its own computer."""

    def __init__(self, server: Server, lines: int) -> None:
        self.server, self.lines = server, lines
        self.expected = "".join(f"{i}\n" for i in range(lines))
        self.ws: Any = None
        self.took_ms = 0.0

    async def connect(self, http: Any) -> None:
        """Make the computer and open its WebSocket."""
        from websockets.asyncio.client import connect

        made = await http.post("/computers", json={"backend": "local"})
        made.raise_for_status()
        self.ws = await connect(f"{self.server.ws}/computers/{made.json()['id']}/ws", open_timeout=120,
                                additional_headers={"Authorization": f"Bearer {self.server.token}"})

    async def warm(self) -> None:
        """Run once, so the computer's agent has started."""
        await self._run("print(0)", "0\n")

    async def stream(self) -> None:
        """The measured run: every line, one start, one end, `complete`."""
        start = time.perf_counter()
        await self._run(f"for i in range({self.lines}): print(i)", self.expected)
        self.took_ms = (time.perf_counter() - start) * 1000

    async def _run(self, code: str, expected: str) -> None:
        await self.ws.send(json.dumps({"language": "python", "code": code}))
        frames: list[dict[str, Any]] = []
        while not (frames and (frames[-1].get("role") == "server" or "error" in frames[-1])):
            frames.append(json.loads(await asyncio.wait_for(self.ws.recv(), 300)))
        printed, starts, ends = read_run(iter(frames).__next__)
        if (printed, starts, ends) != (expected, 1, 1):
            raise RuntimeError(f"incomplete stream: {printed[-40:]!r}, {starts} start and {ends} end chunks")

    async def close(self) -> None:
        """Close the WebSocket (the server keeps the computer until it stops)."""
        if self.ws is not None:
            await self.ws.close()


async def _gather(clients: list[Client], step: Callable[[Client], Any], burst: Burst,
                  at_once: int | None = None, progress: Callable[[str], None] | None = None) -> list[Client]:
    """Run step on every client (at most at_once together); those that succeeded."""
    limit = asyncio.Semaphore(at_once or len(clients))
    finished = 0

    async def one(client: Client) -> Client | None:
        nonlocal finished
        async with limit:
            try:
                await step(client)
                return client
            except Exception as exc:  # a failed client is counted, not fatal
                burst.fail(exc)
                return None
            finally:
                finished += 1
                if progress is not None and finished % 50 == 0:
                    progress(f"  {finished}/{len(clients)}")

    return [c for c in await asyncio.gather(*(one(c) for c in clients)) if c is not None]


async def measure_burst(server: Server, clients: int, lines: int, progress: Callable[[str], None]) -> Burst:
    """Make `clients` computers and open their WebSockets all at once, warm them, then stream a run on all at once."""
    import httpx

    burst = Burst(clients, lines)
    everyone = [Client(server, lines) for _ in range(clients)]
    headers = {"Authorization": f"Bearer {server.token}"}
    async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=120,
                                 limits=httpx.Limits(max_connections=None)) as http:
        start = time.perf_counter()
        connected = await _gather(everyone, lambda c: c.connect(http), burst)
        burst.connect_s = time.perf_counter() - start
        progress(f"{len(connected)}/{clients} computers made and WebSockets open at once in {burst.connect_s:.1f} s; "
                 f"warming their agents, {WARM_AT_ONCE} at a time")
        start = time.perf_counter()
        ready = await _gather(connected, Client.warm, burst, WARM_AT_ONCE, progress)
        burst.warm_s = time.perf_counter() - start
        progress(f"{len(ready)} warm in {burst.warm_s:.1f} s; now every client runs {lines} lines at once")
        start = time.perf_counter()
        done = await _gather(ready, Client.stream, burst)
        burst.burst_s = time.perf_counter() - start
        status = server.status()
        burst.agents_rss_mib = server.children_rss_kib() / 1024
        await asyncio.gather(*(c.close() for c in everyone))
    burst.completed = len(done)
    took = [c.took_ms for c in done]
    burst.stream_p50_ms, burst.stream_p99_ms = percentile(took, 0.5), percentile(took, 0.99)
    burst.server_rss_mib, burst.server_peak_rss_mib = status["VmRSS"] / 1024, status["VmHWM"] / 1024
    burst.server_threads, burst.server_fds = status["Threads"], status["fds"]
    return burst


def burst_table(burst: Burst) -> Table:
    """The concurrent streams."""
    table = Table(title=f"{burst.clients} WebSocket clients, one local computer each, streaming at once")
    for column in ("completed", "failed", "connect s", "burst s", "stream p50 ms", "stream p99 ms",
                   "server RSS MiB (peak)", "server threads", "server fds", "agents RSS MiB"):
        table.add_column(column, justify="right")
    table.add_row(f"{burst.completed}/{burst.clients}", str(sum(burst.failures.values())),
                  f"{burst.connect_s:.1f}", f"{burst.burst_s:.2f}",
                  f"{burst.stream_p50_ms:.0f}", f"{burst.stream_p99_ms:.0f}",
                  f"{burst.server_rss_mib:.0f} ({burst.server_peak_rss_mib:.0f})", str(burst.server_threads),
                  str(burst.server_fds), f"{burst.agents_rss_mib:.0f}")
    return table
