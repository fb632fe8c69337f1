"""Helper processes of the devices (Xvfb, x11vnc): ending them, reading what they said."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any


def end(proc: subprocess.Popen[Any], grace: float = 5.0) -> None:
    """Terminate a process, kill it after `grace` seconds, and reap it."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def log_tail(path: Path, lines: int = 4) -> str:
    """The last non-blank lines of a process's log, joined by ' | ' (or '(nothing)')."""
    text = path.read_text(errors="replace") if path.exists() else ""
    found = [line for line in text.splitlines() if line.strip()]
    return " | ".join(found[-lines:]) or "(nothing)"
