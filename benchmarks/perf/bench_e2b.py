"""Overhead of the E2B path (real SDK, the E2B emulator) against the local backend.

    python -m benchmarks.perf.bench_e2b [--runs 100] [--cold 5]

Both backends run the same agent on this machine, so the difference is the E2B
path itself: HTTP control plane, Connect-RPC process streams, one HTTP request
per stdin write, and base64 lines instead of binary frames. Against the real
cloud add the network round trips and E2B's sandbox start (~150 ms published).
Side by side in one run because the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from rich.console import Console
from rich.table import Table

from benchmarks.perf.bench_docker import _first_output, _percentiles, _samples, cold_start, warm_run
from executors.base import Executor
from executors.e2b.emulator import E2BServer
from executors.local import LocalExecutor
from executors.sandbox.wire import LineDecoder, encode_line
from lmc.framing import FrameDecoder, frame

BIG = "for _ in range(1000):\n    print('x' * 999)"  # 1 MB in lines: local.py short-reads frames > 64 KiB


def big_output(make: Callable[[], Executor], runs: int) -> list[float]:
    """ms for a run that prints one million characters, in lines."""
    with make() as executor:
        _first_output(executor.run("python", "print(0)"))
        return _samples(lambda: (list(executor.run("python", BIG)), time.perf_counter())[1], runs)


def wire_codec(runs: int) -> tuple[list[float], list[float]]:
    """ms to encode and decode a 1.2 MB payload: base64 lines vs binary frames."""
    payload = bytes(range(256)) * 4800
    lines = _samples(lambda: (LineDecoder().feed(encode_line(payload).decode()), time.perf_counter())[1], runs)
    frames = _samples(lambda: (FrameDecoder().feed(frame(payload)), time.perf_counter())[1], runs)
    return lines, frames


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=100, help="warm runs per backend")
    parser.add_argument("--cold", type=int, default=5, help="cold starts per backend")
    args = parser.parse_args()
    with E2BServer() as server:
        table = _measure(lambda: server.config(backoff=0.05).create(), args.runs, args.cold)
    Console().print(table)


def _measure(make_executor: Callable[[], Executor], runs: int, cold: int) -> Table:
    """The table of both backends' timings."""
    rows = {
        "warm run print(1)": (warm_run(make_executor, runs), warm_run(LocalExecutor, runs)),
        "cold start to first output": (cold_start(make_executor, cold), cold_start(LocalExecutor, cold)),
        "1 MB of output": (big_output(make_executor, cold), big_output(LocalExecutor, cold)),
        "1.2 MB payload codec (base64 vs binary)": wire_codec(runs),
    }
    table = Table(title="e2b path (E2B emulator) vs local backend, ms")
    for column in ("measure", "e2b p50", "e2b p95", "local p50", "local p95", "e2b/local"):
        table.add_column(column, justify="right")
    for name, (e2b, local) in rows.items():
        (e50, e95), (l50, l95) = _percentiles(e2b), _percentiles(local)
        table.add_row(name, f"{e50:.2f}", f"{e95:.2f}", f"{l50:.2f}", f"{l95:.2f}", f"{e50 / l50:.1f}x")
    return table


if __name__ == "__main__":
    main()
