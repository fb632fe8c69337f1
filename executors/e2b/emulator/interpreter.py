"""The code interpreter's Jupyter server (port 49999): `POST /execute` streams NDJSON lines."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from werkzeug.wrappers import Request, Response

from executors.e2b.emulator.sandboxes import Sandbox

KERNEL = Path(__file__).with_name("kernel.py")


class Kernel:
    """One persistent Python kernel process of a sandbox; one cell at a time."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-u", str(KERNEL)], cwd=sandbox.root, env=sandbox.env({}),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True,
        )
        self.lock = threading.Lock()

    def execute(self, code: str, env: dict[str, str]) -> Iterator[str]:
        """The protocol lines of one cell, as they come."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        with self.lock:
            self.proc.stdin.write(json.dumps({"code": code, "env": env}) + "\n")
            self.proc.stdin.flush()
            done = False
            try:
                for line in self.proc.stdout:
                    done = json.loads(line)["type"] == "end_of_execution"
                    yield line
                    if done:
                        return
            except GeneratorExit:  # the client went away: interrupt the cell and finish it
                if done:
                    raise
                os.killpg(self.proc.pid, signal.SIGINT)
                for line in self.proc.stdout:
                    if json.loads(line)["type"] == "end_of_execution":
                        break
                raise

    def close(self) -> None:
        """Kill the kernel."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()


def handle(sandbox: Sandbox, request: Request) -> Response:
    """Serve one request to the sandbox's Jupyter server."""
    if request.method != "POST" or request.path != "/execute":
        return Response(f"no route {request.method} {request.path}", 404)
    body = request.get_json(silent=True) or {}
    language = body.get("language") or "python"
    if language != "python":
        return Response(f"language {language!r} has no kernel in this sandbox", 404)
    kernel = sandbox.kernels.get("python")
    if kernel is None:
        kernel = sandbox.kernels.setdefault("python", Kernel(sandbox))
    lines = kernel.execute(body.get("code", ""), body.get("env_vars") or {})  # type: ignore[attr-defined]
    return Response(lines, 200, content_type="application/x-ndjson")
