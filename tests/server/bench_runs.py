"""Benchmark runs for the console tests: one real `lmc bench run` (oracle and null, local sandbox)
and a second run made from its rows through the harness's own writer, with an errored trial."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

from benchmarks.harness import results
from tests.server.helpers import ROOT

TASK = "data-csv-total"
#: a real run takes ~15 s here; generous for a loaded machine
RUN_DEADLINE = 300


def real_run(out: Path) -> Path:
    """`lmc bench run builtin -m oracle -m null --sandbox local -t TASK -o out`."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LMC_DATA_DIR": str(out.parent / "data")}
    done = subprocess.run([sys.executable, "-m", "orchestrator", "bench", "run", "builtin", "-m", "oracle",
                           "-m", "null", "--sandbox", "local", "-t", TASK, "-o", str(out), "--no-progress"],
                          capture_output=True, text=True, env=env, timeout=RUN_DEADLINE)
    assert (out / results.FILE).is_file(), done.stdout + done.stderr
    return out


def errored_copy(run: Path, out: Path) -> Path:
    """A second run: the same rows, but oracle's trial errored (its environment failed; reward 1.0 was never graded)."""
    for row in results.read(run):
        if row.model == "oracle":
            row = dataclasses.replace(row, reward=1.0, failure="environment", outcome="",
                                      detail="the image could not be built")
        results.append(out / results.FILE, row)
    return out
