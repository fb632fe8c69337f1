"""Helpers of the server tests: start and stop a real `lmc serve`, read WebSocket frames."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from devices.process import end

ROOT = Path(__file__).resolve().parents[2]
#: generous: the server starts in about a second, but the machine may be loaded
START_DEADLINE = 60.0
TOKENS = ("token-alice-0123456789abcdef", "token-bob-fedcba9876543210")


@dataclass
class Served:
    """A running server: its URL, its two tokens, where its log goes."""

    url: str
    tokens: tuple[str, ...]
    log: Path
    proc: subprocess.Popen[str]
    stdout: list[str]

    def output(self) -> str:
        """Everything the server has written so far: its log (stderr) and stdout (the access log)."""
        return self.log.read_text() + "".join(self.stdout)

    @property
    def ws(self) -> str:
        """The ws:// URL of the server."""
        return "ws" + self.url[len("http"):]

    def headers(self, which: int = 0) -> dict[str, str]:
        """The Authorization header of token `which`."""
        return {"Authorization": f"Bearer {self.tokens[which]}"}


def server_env(home: Path) -> dict[str, str]:
    """The environment of a server whose config and data live under `home`."""
    return {**os.environ, "PYTHONPATH": str(ROOT), "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_DATA_HOME": str(home / "data"), "LMC_DATA_DIR": str(home / "data")}


def start(args: list[str], home: Path, log: Path,
          env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], list[str]]:
    """Start `lmc serve ARGS` (with `env` over the test environment); the process and its stdout lines
    up to `listening on` (waited for)."""
    proc = subprocess.Popen([sys.executable, "-m", "orchestrator", "serve", "--port", "0", *args],
                            stdout=subprocess.PIPE, stderr=log.open("w"), text=True,
                            env={**server_env(home), **(env or {})})
    lines: queue.Queue[str | None] = queue.Queue()

    seen: list[str] = []  # every stdout line, also those after start-up (uvicorn's access log)

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            seen.append(line)
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    while True:
        try:
            line = lines.get(timeout=START_DEADLINE)
        except queue.Empty:
            proc.kill()
            raise AssertionError(f"lmc serve did not start in {START_DEADLINE} s: {log.read_text()}") from None
        if line is None:
            raise AssertionError(f"lmc serve exited ({proc.wait()}): {''.join(seen)} {log.read_text()}")
        if "listening on" in line:
            return proc, seen


def url_in(lines: list[str]) -> str:
    """The URL of a server's `listening on` line."""
    return next(line for line in lines if "listening on" in line).split("listening on", 1)[1].strip()


def stop(proc: subprocess.Popen[str]) -> None:
    """Stop a server (SIGTERM: uvicorn shuts down gracefully, closing every sandbox)."""
    end(proc, grace=30)




def frames_until_status(ws: object, *, decode: object = None, deadline: float = 120.0) -> list[dict[str, object]]:
    """Frames of a WebSocket (JSON, or msgpack through `decode`) up to the first server status frame."""
    import json

    frames: list[dict[str, object]] = []
    while True:
        raw = ws.recv(timeout=deadline)  # type: ignore[attr-defined]
        frame = decode(raw) if callable(decode) else json.loads(raw)
        frames.append(frame)
        if frame.get("role") == "server" and frame.get("type") == "status":
            return frames


def printed(frames: list[dict[str, object]]) -> str:
    """The console output of chunk frames, joined."""
    return "".join(str(f.get("content") or "") for f in frames
                   if f.get("type") == "console" and f.get("format") == "output")


def pids_on(program: str, display: str) -> list[int]:
    """Pids of the processes of `program` (x11vnc, Xvfb) with `display` among their arguments."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(program.encode()) and display.encode() in argv:
            found.append(int(pid))
    return found
