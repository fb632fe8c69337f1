"""`python -m executors.e2b.emulator` serves E2B on a port; the e2b backend reaches it through the SDK's variables."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUN = (
    "from executors.e2b.config import E2BConfig\n"
    "import sys\n"
    "with E2BConfig(python=sys.executable).create() as e:\n"
    "    print(''.join(str(c.content) for c in e.run('python', 'print(6 * 7)') if c.type == 'console'))\n"
)


def test_the_entry_point_serves_the_backend_through_the_sdk_environment() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen([sys.executable, "-m", "executors.e2b.emulator", "--port", "0"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        header = server.stdout.readline()
        assert header.startswith("E2B emulator on http://127.0.0.1:"), header
        exports = dict(server.stdout.readline().split()[1].split("=", 1) for _ in range(3))
        assert set(exports) == {"E2B_API_KEY", "E2B_API_URL", "E2B_SANDBOX_URL"}
        out = subprocess.run([sys.executable, "-c", RUN], cwd=ROOT, env={**env, **exports}, capture_output=True,
                             text=True, timeout=120)
        assert out.stdout.strip() == "42", out.stderr
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_a_wrong_key_is_refused_as_e2b_refuses_it() -> None:
    from executors.e2b.emulator import E2BServer
    from executors.e2b.errors import E2BAuthError

    with E2BServer() as server:
        executor = server.config(api_key="e2b_wrong").create()
        with pytest.raises(E2BAuthError):
            list(executor.run("python", "print(1)"))
