"""`lmc run --sandbox e2b` end to end: the CLI in a subprocess, the SDK configured by its environment variables."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from executors.e2b.emulator import E2BServer

ROOT = Path(__file__).resolve().parents[2]


def _lmc(server: E2BServer, *args: str, key: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("E2B_")}
    env.update(E2B_API_URL=server.url, E2B_SANDBOX_URL=server.url)
    if key is not None:
        env["E2B_API_KEY"] = key
    return subprocess.run([sys.executable, "-m", "orchestrator", "run", "--sandbox", "e2b", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)


def test_lmc_run_in_an_e2b_sandbox(server: E2BServer) -> None:
    done = _lmc(server, "python", "import os; print(os.environ['E2B_SANDBOX'], 6 * 7)", key=server.api_key)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "true 42\n"
    assert server.live() == []  # the CLI closed its sandbox


def test_lmc_run_without_a_key_says_how_to_get_one(server: E2BServer) -> None:
    done = _lmc(server, "python", "print(1)")
    assert done.returncode != 0
    assert "E2B_API_KEY" in done.stderr and "https://e2b.dev/dashboard" in done.stderr
    assert "Traceback" not in done.stderr
