"""The local backend: the agent runs as a child process of the host, no isolation.

Use it for trusted code and for speed; use `docker` or `e2b` for untrusted code.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Self

from executors.base import Transport
from executors.channel import AgentExecutor
from executors.config import ExecutorConfig
from lmc.framing import frame, read_frame

#: the folder that holds the `lmc` and `executors` packages, put on the agent's path
ROOT = Path(__file__).resolve().parent.parent
#: run under `python -S`: site's .pth processing is a third of the agent's start-up; msgpack
#: is found through the interpreter's site-packages, or through site itself as a fallback
BOOT = (
    "import sys, sysconfig\n"
    "sys.path[:0] = [sys.argv[1], sysconfig.get_path('purelib'), sysconfig.get_path('platlib')]\n"
    "try:\n    import msgpack\nexcept ImportError:\n    import site; site.main()\n"
    "from executors.sandbox.agent import main\nmain()"
)


@dataclass(frozen=True)
class LocalConfig(ExecutorConfig):
    """How to start the local agent; `create()` makes a LocalExecutor."""

    backend = "local"
    executor = "executors.local:LocalExecutor"

    python: str = sys.executable  #: interpreter that runs the agent and Python code
    cwd: str | None = None  #: working directory of the code; the caller's by default
    env: dict[str, str] = field(default_factory=dict)  #: variables added to the inherited environment

    def with_env(self, env: Mapping[str, str]) -> Self:
        """This config with `env` added to the code's environment."""
        return replace(self, env={**self.env, **env})


class PipeTransport(Transport):
    """Frames over a child process's stdin/stdout."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        assert proc.stdin is not None and proc.stdout is not None
        self.stdin, self.stdout = proc.stdin, proc.stdout

    def send(self, payload: bytes) -> None:
        """Write one frame and flush it."""
        self.stdin.write(frame(payload))
        self.stdin.flush()

    def recv(self) -> bytes | None:
        """Read one frame; None at end of stream."""
        return read_frame(self.stdout)

    def describe_exit(self) -> str:
        """How the agent process ended."""
        code = self.proc.wait(timeout=5)
        return f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"

    def outside_cause(self, since: float) -> str | None:
        """None when a signal ended the agent: the code, which runs as its user on this machine, sent it."""
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return "the agent closed its output but still runs"
        return None if code < 0 else f"the agent exited with status {code}"

    def abort(self) -> None:
        """Kill the agent: a blocked read sees the end of its output (closing the pipe under it would not)."""
        self.proc.kill()

    def close(self) -> None:
        """Close the pipes; the agent exits at end of input; kill it if it lingers."""
        for stream in (self.stdin, self.stdout):
            try:
                stream.close()
            except OSError:
                pass
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class LocalExecutor(AgentExecutor):
    """Runs code in an agent child process on this machine."""

    backend = "local"

    def __init__(self, config: LocalConfig | None = None) -> None:
        self.config = config or LocalConfig()
        super().__init__(self.connect)

    def connect(self) -> Transport:
        """Start `python -S -c BOOT ROOT` with pipes for stdin and stdout."""
        env = {**os.environ, **self.config.env}
        proc = subprocess.Popen(
            [self.config.python, "-S", "-c", BOOT, str(ROOT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=self.config.cwd,
            env=env,
            bufsize=0,
        )
        return PipeTransport(proc)
