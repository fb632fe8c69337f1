"""Fixtures for the desktop tests: a real Xvfb, real devices bound to it, the real Tk test app."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from desktop_app import AppState, running

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
    """One virtual desktop shared by the in-process tests (starting one per test would be slow)."""
    with VirtualDesktop(DesktopConfig(width=1280, height=800, depth=24)) as screen:
        yield screen


@pytest.fixture(scope="session")
def devices(desktop: VirtualDesktop) -> Iterator[Devices]:
    """The devices of the session desktop, with the real OCR engine (loaded once)."""
    bundle = Devices(desktop.display, xauthority=desktop.env()["XAUTHORITY"])
    yield bundle
    bundle.close()


@pytest.fixture()
def app(desktop: VirtualDesktop, tmp_path: Path) -> Iterator[AppState]:
    """The Tk test app running on the session desktop, ready for input."""
    state = AppState(tmp_path / "state.json")
    with running([sys.executable, str(APP), str(state.path)], desktop.env(), state,
                 lambda s: s["boxes"]["entry"][2] > 1) as started:
        yield started
