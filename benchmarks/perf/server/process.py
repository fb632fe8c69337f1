"""A real `lmc serve` in a subprocess of a given source tree, and what /proc says about it."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from devices.process import end

#: seconds the server may take to print its URL (a loaded machine)
START_DEADLINE = 60.0
#: the source tree this file belongs to
ROOT = Path(__file__).resolve().parents[3]


@dataclass
class Server:
    """A running `lmc serve`: its process, URL and token."""

    proc: subprocess.Popen[bytes]
    url: str
    token: str

    @property
    def ws(self) -> str:
        """The ws:// URL of the server."""
        return "ws" + self.url[len("http"):]

    def status(self) -> dict[str, int]:
        """The server process's VmRSS and VmHWM (KiB), threads and open files, from /proc."""
        out: dict[str, int] = {}
        with open(f"/proc/{self.proc.pid}/status") as status:
            for line in status:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM", "Threads"):
                    out[key] = int(value.split()[0])
        out["fds"] = len(os.listdir(f"/proc/{self.proc.pid}/fd"))
        return out

    def children_rss_kib(self) -> int:
        """The summed RSS of the server's child processes (the computers' agents)."""
        total = 0
        for task in os.listdir(f"/proc/{self.proc.pid}/task"):
            with open(f"/proc/{self.proc.pid}/task/{task}/children") as children:
                for pid in children.read().split():
                    try:
                        with open(f"/proc/{pid}/statm") as statm:
                            total += int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
                    except FileNotFoundError:  # exited meanwhile
                        continue
        return total


@contextmanager
def served(home: Path, tree: Path = ROOT) -> Iterator[Server]:
    """`lmc serve --port 0` of the source tree `tree`, with a fresh token, its config, data and log under
    `home`; stopped at the end."""
    home.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(16)
    tokens = home / "tokens"
    tokens.write_text(token + "\n")
    tokens.chmod(0o600)
    log = home / "server.log"
    path = os.pathsep.join(p for p in (str(tree), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "PYTHONPATH": path, "XDG_CONFIG_HOME": str(home / "config"),
           "XDG_DATA_HOME": str(home / "data"), "LMC_DATA_DIR": str(home / "data")}
    with log.open("wb") as out:  # a file, not a pipe: an undrained pipe would block the server's log
        proc = subprocess.Popen([sys.executable, "-m", "orchestrator", "serve", "--port", "0",
                                 "--token-file", str(tokens), "--idle-timeout", "3600"],
                                stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tree)
    try:
        yield Server(proc, _listening(proc, log), token)
    finally:
        end(proc, grace=60)


def _listening(proc: subprocess.Popen[bytes], log: Path) -> str:
    """The URL of the server's `listening on` line, waited for."""
    deadline = time.monotonic() + START_DEADLINE
    while time.monotonic() < deadline:
        for line in log.read_text().splitlines():
            if "listening on" in line:
                return line.split("listening on", 1)[1].strip()
        if proc.poll() is not None:
            raise SystemExit(f"lmc serve exited ({proc.returncode}) before listening:\n{log.read_text()}")
        time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"lmc serve did not listen within {START_DEADLINE:.0f} s:\n{log.read_text()}")
