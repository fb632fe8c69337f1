"""A small GTK3 app for the accessibility tests; it writes its state as JSON on every event.

Run with Debian's python3 (it has gi): /usr/bin/python3 gtk_app.py STATE.json [TITLE]
on the display in DISPLAY, with the desktop's DBUS_SESSION_BUS_ADDRESS so it joins the
accessibility bus. The tests read the file to prove that a click really happened, and compare
the boxes GTK reports for its widgets with the ones AT-SPI gives.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import gi

gi.require_version("Gtk", "3.0")
from gi.repository import GLib, Gtk  # noqa: E402

BUTTONS = ("Submit", "Cancel", "Open", "Open")


class App:
    """A window with four buttons (two of them 'Open'), a label that says what was clicked, a text field
    and a greyed-out check box."""

    def __init__(self, path: str, title: str) -> None:
        self.path = path
        self.clicks: dict[str, int] = {}
        self.window = Gtk.Window(title=title)
        self.window.move(0, 0)
        self.window.set_default_size(500, 200)
        self.window.connect("destroy", Gtk.main_quit)
        box = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=8)
        row = Gtk.Box(spacing=8)
        self.buttons: dict[str, Gtk.Button] = {}
        for n, name in enumerate(BUTTONS):
            key = f"{name}#{n}"
            button = Gtk.Button(label=name)
            button.connect("clicked", self.clicked, key)
            row.pack_start(button, False, False, 0)
            self.buttons[key] = button
        self.label = Gtk.Label(label="Ready")
        # a text field: its only action ("activate") is Enter, so a click on it is a mouse click
        self.entry = Gtk.Entry()
        self.entry.set_placeholder_text("Name")
        self.focused = 0
        self.entry.connect("focus-in-event", self.focus)
        box.pack_start(row, False, False, 0)
        box.pack_start(self.label, False, False, 0)
        box.pack_start(self.entry, False, False, 0)
        remember = Gtk.CheckButton(label="Remember me")
        remember.set_sensitive(False)  # greyed out
        remember.connect("toggled", lambda *_: self.clicked(remember, "Remember#4"))
        box.pack_start(remember, False, False, 0)
        self.window.add(box)
        self.window.connect("configure-event", lambda *_: GLib.timeout_add(50, self.write) and False)
        self.window.show_all()
        GLib.timeout_add(200, self.write)

    def clicked(self, _button: Gtk.Button, key: str) -> None:
        """A button was activated (by the mouse or by an accessibility action)."""
        self.clicks[key] = self.clicks.get(key, 0) + 1
        self.label.set_text(f"Clicked {key.split('#')[0]}")
        self.write()

    def focus(self, *_: object) -> bool:
        """The text field got the keyboard focus."""
        self.focused += 1
        GLib.idle_add(self.write)
        return False

    def write(self) -> bool:
        """Write the whole state atomically: clicks, label, and every widget's box on the screen."""
        out: dict[str, Any] = {"clicks": self.clicks, "label": self.label.get_text(),
                               "window": _box(self.window), "boxes": {k: _box(b) for k, b in self.buttons.items()},
                               "entry": _box(self.entry), "entry_focus": self.focused}
        tmp = self.path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(out, f)
        os.replace(tmp, self.path)
        return False


def _box(widget: Gtk.Widget) -> list[int]:
    window = widget.get_window()
    if window is None:
        return [0, 0, 0, 0]
    x, y = window.get_origin()[1:]
    if not isinstance(widget, Gtk.Window):
        allocation = widget.get_allocation()
        x, y = x + allocation.x, y + allocation.y
        return [x, y, allocation.width, allocation.height]
    return [x, y, window.get_width(), window.get_height()]


def main() -> None:
    """Run the app until it is closed or killed."""
    App(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "lmc gtk app")
    Gtk.main()


if __name__ == "__main__":
    main()
