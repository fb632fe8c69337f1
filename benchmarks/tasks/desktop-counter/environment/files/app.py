import tkinter as tk
from lmc_tk import publish, save, window
root = window("Counter", 300, 200)
count = tk.IntVar(value=0)
tk.Label(root, textvariable=count, font=("TkDefaultFont", 24)).pack(pady=10)
plus = tk.Button(root, text="+1", command=lambda: count.set(count.get() + 1)); plus.pack()
done = tk.Button(root, text="Done", command=lambda: save("counter.json", {"count": count.get()})); done.pack(pady=10)
publish(root, {"plus": plus, "done": done})
root.mainloop()
