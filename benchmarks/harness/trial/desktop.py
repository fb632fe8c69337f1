"""Starting a desktop task's app ([desktop] app) on the trial's virtual display, and waiting for its window."""

from __future__ import annotations

import shlex
from typing import Any

from benchmarks.harness import layout as lay
from benchmarks.harness.errors import StagingFailed
from benchmarks.harness.task import DesktopSpec


def start_app(computer: Any, desktop: DesktopSpec, workdir: str, logs: str) -> int:
    """Start the app in the background in its own session; wait for `ready_window` if the task names one.

    Returns the app's session id (its processes are the environment's, not the agent's: a verifier
    that checks the app's live state needs them to outlive the agent's).
    """
    # the session leader writes its pid, which is the session's id, before it becomes the app
    sid = shlex.quote(f"{logs}/agent/app.sid")
    run = f"echo $$ > {sid}; exec sh -c {shlex.quote(desktop.app)}"
    start = (f'cd {shlex.quote(workdir)} && rm -f {sid} && (setsid sh -c {shlex.quote(run)} '
             f'> "{logs}/agent/app.log" 2>&1 < /dev/null &) && '
             f'for i in $(seq 100); do [ -s {sid} ] && break; sleep 0.05; done; cat {sid}')
    said = lay.must_run(computer, start, "starting the desktop app").strip()
    if not said.isdigit():
        raise StagingFailed(f"the desktop app's shell did not start (it said {said[-200:]!r})")
    _wait_window(computer, desktop, logs)
    return int(said)


def _wait_window(computer: Any, desktop: DesktopSpec, logs: str) -> None:
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
