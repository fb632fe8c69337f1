"""GUI programs in a docker sandbox draw on a session's X display, when one is given."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from devices.desktop import DesktopConfig, VirtualDesktop
from executors.docker.errors import InvalidDockerConfig
from executors.docker.executor import DockerConfig
from orchestrator.computer import Computer
from tests.contract.helpers import text

pytestmark = [pytest.mark.docker, pytest.mark.desktop]

Make = Callable[..., Computer]
TK = "import tkinter\nroot = tkinter.Tk()\nprint(root.winfo_screenwidth(), root.winfo_screenheight())"


def test_tk_in_the_sandbox_opens_on_the_given_display(make_computer: Make) -> None:
    with VirtualDesktop(DesktopConfig(width=1024, height=700)) as desktop:
        computer = make_computer(DockerConfig(display=desktop.display))
        assert text(computer.run("python", TK)) == "1024 700\n"


def test_no_display_and_no_x_sockets_by_default(make_computer: Make) -> None:
    with VirtualDesktop(DesktopConfig()):
        computer = make_computer()
        probe = "import os; print(os.environ.get('DISPLAY'), os.path.exists('/tmp/.X11-unix'))"
        assert text(computer.run("python", probe)) == "None False\n"


@pytest.mark.parametrize("display,fix", [("localhost:3", "like ':101'"), (":9999", "start that display")])
def test_bad_display_is_refused_with_the_fix(display: str, fix: str) -> None:
    with pytest.raises(InvalidDockerConfig, match=fix):
        DockerConfig(display=display)
