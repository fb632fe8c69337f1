"""Fixtures for the desktop tests: a real Xvfb, real devices bound to it, the real Tk test app."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devices.desktop import DesktopConfig, VirtualDesktop
from devices.facade import Devices

APP = Path(__file__).with_name("tk_app.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test here `desktop`, and skip them all (saying why) where Xvfb is missing."""
    here = Path(__file__).parent
    missing = shutil.which("Xvfb") is None
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.desktop)
            if missing:
                item.add_marker(pytest.mark.skip(reason="Xvfb is not installed: apt-get install xvfb"))


@pytest.fixture(scope="session")
def desktop() -> Iterator[VirtualDesktop]:
    """One virtual desktop for the in-process tests (pyautogui binds one display per process)."""
    with VirtualDesktop(DesktopConfig(width=1280, height=800, depth=24)) as screen:
        yield screen


@pytest.fixture(scope="session")
def devices(desktop: VirtualDesktop) -> Iterator[Devices]:
    """The devices of the session desktop, with the real OCR engine (loaded once)."""
    bundle = Devices(desktop.display, xauthority=desktop.env()["XAUTHORITY"])
    yield bundle
    bundle.close()


class AppState:
    """The Tk app's state file, read on demand, with waiting for a condition."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> dict[str, Any]:
        """The state the app wrote last."""
        return dict(json.loads(self.path.read_text(encoding="utf-8")))

    def wait(self, check: Callable[[dict[str, Any]], bool], timeout: float = 5.0) -> dict[str, Any]:
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


@pytest.fixture()
def app(desktop: VirtualDesktop, tmp_path: Path) -> Iterator[AppState]:
    """The Tk test app running on the session desktop, ready for input."""
    state = AppState(tmp_path / "state.json")
    env = dict(os.environ, **desktop.env())
    proc = subprocess.Popen([sys.executable, str(APP), str(state.path)], env=env)
    try:
        state.wait(lambda s: s["boxes"]["entry"][2] > 1, timeout=15)
        yield state
    finally:
        proc.terminate()
        proc.wait(timeout=5)
