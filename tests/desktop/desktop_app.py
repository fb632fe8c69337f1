"""Reading the Tk test app's state file (imported by the desktop tests and their conftest)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

#: python code printing the session's DISPLAY and the title of the process that owns its Xvfb (ray::DeviceHost on Ray)
OWNER = (
    "import os\n"
    "number = os.environ['DISPLAY'].split(':')[-1].split('.')[0]\n"
    "for pid in filter(str.isdigit, os.listdir('/proc')):\n"
    "    try:\n        args = open(f'/proc/{pid}/cmdline').read().split('\\0')\n"
    "    except OSError:\n        continue\n"
    "    if args[0].endswith('Xvfb') and ':' + number in args:\n"
    "        parent = open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()[1]\n"
    "        owner = open(f'/proc/{parent}/cmdline').read().replace('\\0', ' ').strip()\n"
    "        print('display', os.environ['DISPLAY'], 'owner', owner)\n"
)


class AppState:
    """The Tk app's state file, read on demand, with waiting for a condition."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> dict[str, Any]:
        """The state the app wrote last."""
        return dict(json.loads(self.path.read_text(encoding="utf-8")))

    def wait(self, check: Callable[[dict[str, Any]], bool], timeout: float = 10.0) -> dict[str, Any]:
        """Poll until check(state) holds; fail showing the last state."""
        deadline = time.monotonic() + timeout
        state: dict[str, Any] = {}
        while time.monotonic() < deadline:
            if self.path.exists():
                state = self.read()
                if check(state):
                    return state
            time.sleep(0.02)
        raise AssertionError(f"the app never reached the expected state; last state: {state}")

    def center(self, name: str) -> tuple[int, int]:
        """The screen center of a widget the app reported."""
        left, top, width, height = self.read()["boxes"][name]
        return (left + width // 2, top + height // 2)


@contextlib.contextmanager
def running(argv: Sequence[str], env: dict[str, str], state: AppState,
            ready: Callable[[dict[str, Any]], bool], timeout: float = 15.0) -> Iterator[AppState]:
    """A test app started with `env` over this process's environment, yielded once `ready` holds, then ended."""
    proc = subprocess.Popen(list(argv), env=dict(os.environ, **env))
    try:
        state.wait(ready, timeout=timeout)
        yield state
    finally:
        proc.terminate()
        proc.wait(timeout=10)
