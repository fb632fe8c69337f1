"""A window manager's click-to-focus, slowed down: what openbox does on every click, taking `delay` seconds.

A click-to-focus window manager holds a passive grab on the mouse button in synchronous mode, so the
server freezes the pointer at each press until the manager has focused the clicked window and replays
the press (AllowEvents ReplayPointer). Keys are not frozen: a key sent while the manager works reaches
the old focus before the click reaches the app. Under load openbox takes long enough for that to bite;
this client takes `delay` every time, so a test can rely on it.

Usage: slow_wm.py DELAY LOGFILE   (DISPLAY from the environment). LOGFILE gets "ready" once the grab
is in place, then "pressed <time.time()>" as each press arrives (it is replayed `delay` s later) and
"replayed <time.time()>" after.
"""

from __future__ import annotations

import sys
import time

from Xlib import X
from Xlib.display import Display


def main() -> None:
    delay, log = float(sys.argv[1]), sys.argv[2]
    conn = Display()
    root = conn.screen().root
    root.grab_button(1, X.AnyModifier, False, X.ButtonPressMask, X.GrabModeSync, X.GrabModeAsync, X.NONE, X.NONE)
    conn.sync()
    with open(log, "a") as out:
        out.write("ready\n")
    while True:
        event = conn.next_event()
        if event.type != X.ButtonPress:
            continue
        with open(log, "a") as out:
            out.write(f"pressed {time.time()}\n")
        time.sleep(delay)
        if event.child:  # the top-level window clicked: focus it, as the manager would
            conn.set_input_focus(event.child, X.RevertToPointerRoot, X.CurrentTime)
        conn.allow_events(X.ReplayPointer, X.CurrentTime)
        conn.sync()
        with open(log, "a") as out:
            out.write(f"replayed {time.time()}\n")


if __name__ == "__main__":
    main()
