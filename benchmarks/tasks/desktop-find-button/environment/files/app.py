import tkinter as tk
from lmc_tk import publish, save, window
root = window("Control panel", 520, 300)
labels = ["Open", "Close", "Print", "Share", "Export", "Import", "Launch", "Reset", "Help", "Quit", "Undo", "Redo"]
buttons = {}
def press(label):
    save("pressed.json", {"button": label})
for i, label in enumerate(labels):
    b = tk.Button(root, text=label, width=8, command=lambda l=label: press(l))
    b.grid(row=i // 4, column=i % 4, padx=10, pady=20)
    buttons[label] = b
publish(root, buttons)
root.mainloop()
