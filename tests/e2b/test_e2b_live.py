"""The E2B backend against the real cloud: opt-in (`-m live`), skipped without E2B_API_KEY.

It runs a smoke test and then the whole executor contract suite against the
cloud, through the same `tests.support.e2b_backend.make_executor()` switched to
live mode by LMC_E2B_LIVE=1.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from executors.e2b.executor import E2BConfig, E2BExecutor
from lmc.assembly import assemble

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(not os.environ.get("E2B_API_KEY"), reason="E2B_API_KEY is not set (live E2B test)"),
]

ROOT = Path(__file__).resolve().parents[2]


def test_live_sandbox_runs_code_and_is_killed_on_close() -> None:
    from e2b import Sandbox
    from e2b.exceptions import SandboxNotFoundException

    executor = E2BExecutor(E2BConfig(metadata={"lmc": "live-test"}))
    messages = assemble(executor.run("python", "import sys\nprint(sys.version_info >= (3, 8))"))
    assert [m.content for m in messages if m.type == "console"][0] == "True\n"
    sandbox_id = executor.sandbox_id
    assert sandbox_id is not None
    executor.close()
    assert executor.sandbox_id is None
    with pytest.raises(SandboxNotFoundException):
        Sandbox.get_info(sandbox_id)


def test_live_contract_suite() -> None:
    env = {**os.environ, "LMC_E2B_LIVE": "1"}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "tests/contract", "-k", "e2b", "-p",
                           "no:cacheprovider"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
