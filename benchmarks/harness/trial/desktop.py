"""Starting a desktop task's app ([desktop] app) on the trial's virtual display, and waiting for its window."""

from __future__ import annotations

import shlex
from typing import Any

from benchmarks.harness import layout as lay
from benchmarks.harness.errors import StagingFailed
from benchmarks.harness.task import DesktopSpec


def start_app(computer: Any, desktop: DesktopSpec, workdir: str, logs: str) -> None:
    """Start the app in the background in its own session; wait for `ready_window` if the task names one."""
    start = (f'cd {shlex.quote(workdir)} && (setsid sh -c {shlex.quote(desktop.app)} '
             f'> "{logs}/agent/app.log" 2>&1 < /dev/null &)')
    lay.must_run(computer, start, "starting the desktop app")
    if not desktop.ready_window:
        return
    _, found = lay.run_shell(computer, "command -v xdotool >/dev/null", "looking for xdotool")
    if found != 0:
        raise StagingFailed("the sandbox has no xdotool, which waiting for the app's window (ready_window) needs; "
                            "install it in the task's image (apt-get install xdotool; lmc-sandbox has it), "
                            "or drop ready_window from [desktop]")
    tries = max(1, int(desktop.ready_timeout_sec / 0.2))
    wait = (f"for i in $(seq {tries}); do xdotool search --name {shlex.quote(desktop.ready_window)} "
            ">/dev/null 2>&1 && exit 0; sleep 0.2; done; exit 1")
    _, status = lay.run_shell(computer, f"( {wait} )", "waiting for the app's window",
                              timeout=desktop.ready_timeout_sec + 10)
    if status != 0:
        text, _ = lay.run_shell(computer, f'tail -5 "{logs}/agent/app.log"', "reading the app log")
        raise StagingFailed(f"the desktop app did not show a window titled {desktop.ready_window!r} "
                            f"within {desktop.ready_timeout_sec} s; its log: {text.strip()[-300:]}")
