"""`lmc serve` under load: the latency it adds to a run, and how many streaming clients one process holds.

    python -m benchmarks.perf.bench_server [--rounds 20] [--runs 50] [--clients 500] [--lines 20]
                                           [--base REV] [--out benchmarks/results/server]

A real `lmc serve` (a subprocess on 127.0.0.1, local-backend computers) and two measures:

1. Latency: `run("python", "print(1)")` on a warm local computer, in alternating rounds (the
   order rotates each round) so the noise of this shared machine falls on every path alike: a
   `Computer` in this process, `RemoteComputer.run` (POST .../run, SSE, the client keeping its
   connection), and a WebSocket client (a JSON run frame in, chunk frames out to `complete`).
   Reported: p50/p99 per path over all samples, and what each remote path adds to the
   in-process one at p50 (the median over rounds of that round's difference) and at p99.
   Target: < 2 ms added at p50. `--base REV` also serves a git worktree of REV and puts its SSE
   and WebSocket paths in the same rounds: a before/after of the server (this tree's client; on
   the base's SSE path it opens a connection per run, as the client before keep-alive did).
2. Concurrency: `--clients` WebSocket clients, each with its own computer (one local agent
   process each: a computer runs one thing at a time, so clients sharing one would queue, not
   stream). Every computer is made and its WebSocket opened at once (timed), then warmed, a few
   at a time (the first run starts the agent, a CPU-bound second here; not timed), then every
   client sends `for i in range(lines): print(i)` at the same moment and reads its chunks to
   `complete`. A stream counts as complete only with every line, one start and one end chunk,
   and the `complete` status. Reported: completed/failed, the burst's wall time, p50/p99 per
   stream, the server's RSS (peak), threads and open files, the agents' memory apart. The
   clients run in this process and share the machine's cores with the server.

The figures go to `<out>/server.json`; the tables are printed. Exit 1 if a stream failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import asdict
from pathlib import Path

from rich.console import Console

from benchmarks.perf.server.burst import Burst, burst_table, measure_burst
from benchmarks.perf.server.latency import TARGET_ADDED_P50_MS, latency_table, measure_latency
from benchmarks.perf.server.process import ROOT, Server, served

#: the concurrency target: streaming clients one process holds, every stream complete
TARGET_CLIENTS = 500


def parse(argv: list[str] | None) -> argparse.Namespace:
    """The command line, checked."""
    doc = (__doc__ or "").splitlines()
    parser = argparse.ArgumentParser(description=doc[0], epilog="\n".join(doc[5:]),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20, help="latency rounds, the paths alternating (default 20)")
    parser.add_argument("--runs", type=int, default=50, help="runs per path per round (default 50)")
    parser.add_argument("--clients", type=int, default=TARGET_CLIENTS,
                        help=f"concurrent streaming clients; 0 skips that part (default {TARGET_CLIENTS})")
    parser.add_argument("--lines", type=int, default=20, help="lines each concurrent client's run prints (default 20)")
    parser.add_argument("--base", metavar="REV", help="also serve this git revision, side by side in the latency "
                        "rounds (e.g. main, HEAD~3)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/server"),
                        help="folder for server.json (default benchmarks/results/server)")
    args = parser.parse_args(argv)
    for name in ("rounds", "runs", "lines"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1, got {getattr(args, name)}")
    if args.clients < 0:
        parser.error(f"--clients must be 0 or more, got {args.clients}")
    return args


def _servers(stack: ExitStack, home: Path, base: str | None) -> dict[str, Server]:
    """This tree's server under the label "", and REV's under " @REV" if asked."""
    from benchmarks.perf.compare_trees import checkout

    servers = {"": stack.enter_context(served(home / "this"))}
    if base is not None:
        tree = stack.enter_context(checkout(ROOT, base))
        servers[f" @{base}"] = stack.enter_context(served(home / "base", tree))
    return servers


def main(argv: list[str] | None = None) -> int:
    """Measure, print the tables, write server.json."""
    args = parse(argv)
    console = Console(width=150)

    def progress(text: str) -> None:
        console.print(f"[dim]{text}[/dim]")

    burst: Burst | None = None
    with ExitStack() as stack:
        home = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lmc-bench-server-")))
        servers = _servers(stack, home, args.base)
        progress("lmc serve: " + ", ".join(f"{s.url} (pid {s.proc.pid}){label}" for label, s in servers.items()))
        paths = measure_latency(servers, args.rounds, args.runs, progress)
        console.print(latency_table(paths))
        if args.clients:
            burst = asyncio.run(measure_burst(servers[""], args.clients, args.lines, progress))
            console.print(burst_table(burst))
            for why, count in burst.failures.items():
                console.print(f"[red]{count} failed: {why}[/red]")
    args.out.mkdir(parents=True, exist_ok=True)
    result = {"latency_ms": [asdict(p) for p in paths], "concurrency": asdict(burst) if burst else None,
              "base": args.base, "target_added_p50_ms": TARGET_ADDED_P50_MS, "target_clients": TARGET_CLIENTS,
              "cpus": os.cpu_count(), "load_average": os.getloadavg()}
    (args.out / "server.json").write_text(json.dumps(result, indent=1) + "\n")
    console.print(f"figures: {args.out / 'server.json'}")
    return 1 if burst is not None and burst.completed < burst.clients else 0


if __name__ == "__main__":
    sys.exit(main())
