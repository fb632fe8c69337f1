import tkinter as tk
from lmc_tk import publish, save, window
root = window("Notepad", 500, 380)
text = tk.Text(root, width=50, height=14); text.pack(padx=6, pady=6)
def store():
    with open("note.txt", "w") as out:
        out.write(text.get("1.0", "end-1c"))
    root.title("Notepad - saved")
button = tk.Button(root, text="Save", command=store); button.pack()
publish(root, {"text": text, "save": button})
root.mainloop()
