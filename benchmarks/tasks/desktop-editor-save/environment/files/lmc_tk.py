"""Shared by the suite's desktop apps: a fixed window, state saved as JSON, and a widget map."""
import json
import os
import tkinter as tk

LOGS = os.environ.get("LOGS_DIR", "/logs")


def window(title, width=480, height=360):
    root = tk.Tk()
    root.title(title)
    root.geometry(f"{width}x{height}+0+0")
    return root


def save(name, data):
    with open(name, "w") as out:
        json.dump(data, out)


def publish(root, widgets):
    """Write each named widget's centre on screen, like an accessibility tree, for scripted solvers."""
    def write():
        root.update_idletasks()
        tree = {name: [w.winfo_rootx() + w.winfo_width() // 2, w.winfo_rooty() + w.winfo_height() // 2]
                for name, w in widgets.items()}
        os.makedirs(os.path.join(LOGS, "agent"), exist_ok=True)
        with open(os.path.join(LOGS, "agent", "widgets.json"), "w") as out:
            json.dump(tree, out)
    root.after(300, write)
