"""Virtual desktops: real Xvfb started, found dead, restarted; and the errors for no display."""

from __future__ import annotations

import os
import signal
import time

import pytest

from devices.desktop import DesktopConfig, VirtualDesktop
from devices.errors import DesktopDied, DeviceUsageError, NoDisplay, XvfbMissing
from devices.xdisplay import host_display, socket_path


def _size(screen: VirtualDesktop) -> tuple[int, int]:
    """The screen size as a fresh X client (mss) sees it."""
    import mss

    with mss.MSS(display=screen.display) as grabber:
        whole = grabber.monitors[0]
    return (whole["width"], whole["height"])


def test_two_desktops_get_their_own_displays_and_sizes() -> None:
    with VirtualDesktop(DesktopConfig(width=640, height=480)) as one, VirtualDesktop() as two:
        assert one.display != two.display
        assert one.alive() and two.alive()
        assert socket_path(one.display).exists()
        assert _size(one) == (640, 480)
        assert _size(two) == (1280, 800)
        assert os.path.isfile(one.env()["XAUTHORITY"])
    assert not one.alive()
    assert not socket_path(one.display).exists()


def test_a_number_taken_in_a_race_moves_on_to_the_next(monkeypatch: pytest.MonkeyPatch) -> None:
    # two sessions starting at once both see a number free; the loser's Xvfb says "server already
    # running" and may take long to exit on a busy machine: it must move on, not fail the session
    import devices.desktop

    with VirtualDesktop() as first:
        taken = int(first.display[1:])
        monkeypatch.setattr(devices.desktop, "display_in_use", lambda number: False)  # the race: looks free
        second = VirtualDesktop(DesktopConfig(first_display=taken))
        try:
            second.start()
            assert second.display != first.display and second.alive() and first.alive()
        finally:
            second.close()


def test_a_killed_desktop_is_reported_and_restarts_on_the_same_display() -> None:
    with VirtualDesktop(DesktopConfig(width=320, height=240)) as screen:
        display, pid = screen.display, screen.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(DesktopDied) as caught:
            for _ in range(100):
                screen.check()
                time.sleep(0.02)
        assert display in str(caught.value) and "restart()" in str(caught.value)
        assert not screen.alive() and screen.exit_code is not None
        screen.restart()
        assert screen.alive()
        assert screen.display == display
        assert _size(screen) == (320, 240)


def test_missing_xvfb_says_how_to_install_it() -> None:
    screen = VirtualDesktop(DesktopConfig(xvfb="no-such-Xvfb"))
    with pytest.raises(XvfbMissing, match="apt-get install xvfb"):
        screen.start()
    screen.close()


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [("width", 0, "width must be an int from 16"), ("depth", 12, "depth must be one of 8, 16, 24, 32")],
)
def test_bad_desktop_config_names_field_and_allowed_values(field: str, value: int, expected: str) -> None:
    with pytest.raises(DeviceUsageError, match=expected):
        DesktopConfig(**{field: value})  # type: ignore[arg-type]


def test_no_display_errors_say_how_to_get_one() -> None:
    with pytest.raises(NoDisplay, match="--desktop virtual") as unset:
        host_display({})
    assert "DISPLAY is not set" in str(unset.value)
    with pytest.raises(NoDisplay, match="no X server listens"):
        host_display({"DISPLAY": ":4321"})
    with pytest.raises(NoDisplay, match="not an X display name"):
        host_display({"DISPLAY": "nonsense"})


def test_host_display_accepts_a_live_server(desktop: VirtualDesktop) -> None:
    assert host_display({"DISPLAY": desktop.display}) == desktop.display
