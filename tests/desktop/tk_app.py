"""A small Tk app for the desktop tests; it writes its state as JSON on every event.

Run: python tk_app.py STATE.json  (on the display in DISPLAY). The tests read
the file to prove that each mouse or keyboard action really happened.
"""

from __future__ import annotations

import json
import os
import sys
import tkinter as tk
from collections.abc import Callable
from typing import Any

FONT = ("DejaVu Sans", 14)


class App:
    """Buttons, a text field, a label, a drag canvas, a scroll list, hotkeys and an icon."""

    def __init__(self, root: tk.Tk, state_path: str) -> None:
        self.root = root
        self.path = state_path
        self.state: dict[str, Any] = {
            "clicks": {},
            "entry": "",
            "label": "Ready",
            "saved": 0,
            "escapes": 0,
            "double_clicks": 0,
            "right_clicks": 0,
            "icon_clicks": 0,
            "entry_focus": 0,
            "drag": None,
            "scroll_top": 0.0,
            "widgets": {},
        }
        root.title("lmc test app")
        root.geometry("900x640+0+0")
        self._buttons()
        self.entry = tk.Entry(root, font=FONT, width=30)
        self.entry.place(x=20, y=90)
        self.entry.bind("<KeyRelease>", lambda _e: self.changed())
        self.entry.bind("<<Paste>>", lambda _e: root.after(50, self.changed))
        self.entry.bind("<Return>", self.on_return)
        self.entry.bind("<FocusIn>", lambda _e: self.bump("entry_focus"))
        self.label = tk.Label(root, text="Ready", font=FONT, bg="white", width=30, anchor="w")
        self.label.place(x=20, y=140)
        self.label.bind("<Button-3>", lambda _e: self.bump("right_clicks"))
        self.double = tk.Label(root, text="Double me", font=FONT, relief="groove")
        self.double.place(x=450, y=140)
        self.double.bind("<Double-Button-1>", lambda _e: self.bump("double_clicks"))
        self._canvas()
        self._listbox()
        root.bind_all("<Control-s>", lambda _e: self.bump("saved"))
        root.bind_all("<Escape>", lambda _e: self.bump("escapes"))
        # a moved or resized window rewrites the state, so tests see where the app thinks it is
        root.bind("<Configure>", lambda e: root.after(30, self.changed) if e.widget is root else None)
        root.after(200, self.changed)

    def _buttons(self) -> None:
        for x, name in ((20, "Submit"), (160, "Cancel"), (300, "Open"), (420, "Open")):
            key = f"{name}@{x}"
            button = tk.Button(self.root, text=name, font=FONT, command=self._click_handler(key))
            button.place(x=x, y=20)
            self.widget(key, button)

    def _canvas(self) -> None:
        self.canvas = tk.Canvas(self.root, width=400, height=200, bg="#f0f0f0", highlightthickness=0)
        self.canvas.place(x=20, y=200)
        self.canvas.bind("<ButtonPress-1>", self.drag_start)
        self.canvas.bind("<ButtonRelease-1>", self.drag_end)
        # the "icon": a red disc with no text, found only by shape
        self.icon = tk.Canvas(self.root, width=40, height=40, bg="#d9d9d9", highlightthickness=0)
        self.icon.create_oval(4, 4, 36, 36, fill="red", outline="black")
        self.icon.place(x=500, y=260)
        self.icon.bind("<Button-1>", lambda _e: self.bump("icon_clicks"))

    def _listbox(self) -> None:
        self.listbox = tk.Listbox(self.root, font=FONT, height=8, width=20)
        for n in range(200):
            self.listbox.insert("end", f"Row {n}")
        self.listbox.place(x=600, y=200)
        for event in ("<Button-4>", "<Button-5>", "<MouseWheel>"):
            self.listbox.bind(event, lambda _e: self.root.after(30, self.changed), add="+")

    def _click_handler(self, key: str) -> Callable[[], None]:
        return lambda: self.clicked(key)

    def widget(self, name: str, widget: tk.Widget) -> None:
        """Remember a widget whose screen box the tests need."""
        self.state["widgets"][name] = widget

    def clicked(self, key: str) -> None:
        """A button was pressed."""
        self.state["clicks"][key] = self.state["clicks"].get(key, 0) + 1
        self.label.configure(text=f"Clicked {key.split('@')[0]}")
        self.changed()

    def bump(self, name: str) -> None:
        """Count an event."""
        self.state[name] += 1
        self.changed()

    def on_return(self, _event: object) -> None:
        """Enter copies the field to the label, so OCR can read it back."""
        self.label.configure(text=self.entry.get())
        self.changed()

    def drag_start(self, event: tk.Event) -> None:
        """Remember where a drag began (screen coordinates)."""
        self.state["drag"] = {"from": [event.x_root, event.y_root], "to": None}
        self.changed()

    def drag_end(self, event: tk.Event) -> None:
        """Remember where a drag ended (screen coordinates)."""
        if self.state["drag"] is not None:
            self.state["drag"]["to"] = [event.x_root, event.y_root]
        self.changed()

    def changed(self) -> None:
        """Write the whole state atomically."""
        self.root.update_idletasks()
        out = {k: v for k, v in self.state.items() if k != "widgets"}
        out["entry"] = self.entry.get()
        out["label"] = self.label.cget("text")
        out["scroll_top"] = self.listbox.yview()[0]
        out["boxes"] = {name: _box(w) for name, w in self._named().items()}
        tmp = self.path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(out, f)
        os.replace(tmp, self.path)

    def _named(self) -> dict[str, tk.Widget]:
        named = dict(self.state["widgets"])
        named.update(entry=self.entry, label=self.label, double=self.double, canvas=self.canvas)
        named.update(icon=self.icon, listbox=self.listbox)
        return named


def _box(widget: tk.Widget) -> list[int]:
    return [widget.winfo_rootx(), widget.winfo_rooty(), widget.winfo_width(), widget.winfo_height()]


def main() -> None:
    """Run the app until it is killed."""
    root = tk.Tk()
    App(root, sys.argv[1])
    root.mainloop()


if __name__ == "__main__":
    main()
