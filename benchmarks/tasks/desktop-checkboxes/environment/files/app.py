import tkinter as tk
from lmc_tk import publish, save, window
root = window("Preferences")
names = ["Dark mode", "Autosave", "Telemetry", "Spell check"]
values = {n: tk.BooleanVar(value=(n == "Telemetry")) for n in names}
boxes = {}
for i, n in enumerate(names):
    boxes[n] = tk.Checkbutton(root, text=n, variable=values[n]); boxes[n].grid(row=i, column=0, sticky="w", padx=10, pady=6)
def apply():
    save("preferences.json", {n: v.get() for n, v in values.items()})
boxes["Apply"] = tk.Button(root, text="Apply", command=apply); boxes["Apply"].grid(row=len(names), column=0, pady=10)
publish(root, boxes)
root.mainloop()
