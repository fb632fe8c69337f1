"""The server benchmark (benchmarks/perf/bench_server.py) run with tiny figures, so it cannot rot:
it completes, every stream completes, and it writes well-formed results. No timing is asserted."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

from tests.server.helpers import ROOT

#: generous: two servers start and a few agents warm on a possibly loaded machine
DEADLINE = 600


def _bench(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "benchmarks.perf.bench_server", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=DEADLINE)


def test_bench_server_runs_tiny_and_writes_its_figures(tmp_path: Path) -> None:
    done = _bench("--rounds", "2", "--runs", "3", "--clients", "4", "--lines", "5", "--base", "HEAD",
                  "--out", str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    figures = json.loads((tmp_path / "server.json").read_text())
    paths = {p["path"]: p for p in figures["latency_ms"]}
    assert set(paths) == {"in-process", "HTTP (SSE)", "SSE, http.client", "WebSocket",
                          "HTTP (SSE) @HEAD", "WebSocket @HEAD"}
    for path in paths.values():
        assert path["samples"] == 2 * 3
        assert 0 < path["p50"] <= path["p99"]
    assert paths["in-process"]["added_p50"] == 0
    burst = figures["concurrency"]
    assert (burst["clients"], burst["completed"], burst["failures"]) == (4, 4, {})
    assert 0 < burst["stream_p50_ms"] <= burst["stream_p99_ms"]
    assert burst["server_rss_mib"] > 0 and burst["server_fds"] >= 4 and burst["agents_rss_mib"] > 0
    assert "4/4" in done.stdout and "added p50" in done.stdout


def test_bench_server_refuses_bad_figures(tmp_path: Path) -> None:
    done = _bench("--clients", "-1", "--out", str(tmp_path))
    assert done.returncode == 2
    assert "--clients must be 0 or more, got -1" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "server.json").exists()


def test_serve_raises_its_open_files_limit() -> None:
    """Hundreds of streaming clients need more files than the common soft limit of 1024."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    probe = ("import resource\n"
             f"resource.setrlimit(resource.RLIMIT_NOFILE, (256, {hard}))\n"
             "from orchestrator.server.run import raise_file_limit\n"
             "print(raise_file_limit(), resource.getrlimit(resource.RLIMIT_NOFILE)[0])")
    out = subprocess.run([sys.executable, "-c", probe], env={**os.environ, "PYTHONPATH": str(ROOT)},
                         capture_output=True, text=True, check=True).stdout.split()
    expected = hard if hard != resource.RLIM_INFINITY else 65536
    assert out == [str(expected), str(expected)]
