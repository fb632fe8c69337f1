import tkinter as tk
from lmc_tk import publish, window
root = window("Project settings", 420, 200)
tk.Label(root, text="Project name").pack(pady=6)
entry = tk.Entry(root, width=30); entry.pack()
rename = tk.Button(root, text="Rename", command=lambda: root.title("Project: " + entry.get())); rename.pack(pady=10)
publish(root, {"name": entry, "rename": rename})
root.mainloop()
