import tkinter as tk
from lmc_tk import publish, save, window
root = window("Fruit picker", 320, 300)
fruits = ["Apple", "Banana", "Cherry", "Date", "Elderberry"]
box = tk.Listbox(root, height=len(fruits), exportselection=False); box.pack(pady=10)
for f in fruits:
    box.insert("end", f)
def choose():
    picked = [fruits[i] for i in box.curselection()]
    save("choice.json", {"picked": picked})
button = tk.Button(root, text="Choose", command=choose); button.pack()
root.update_idletasks()
items = {}
class Item:  # a listbox row has no widget of its own: publish its centre through this adapter
    def __init__(self, i): self.i = i
    def winfo_rootx(self): return box.winfo_rootx() + box.bbox(self.i)[0]
    def winfo_rooty(self): return box.winfo_rooty() + box.bbox(self.i)[1]
    def winfo_width(self): return box.bbox(self.i)[2]
    def winfo_height(self): return box.bbox(self.i)[3]
publish(root, {**{f: Item(i) for i, f in enumerate(fruits)}, "choose": button})
root.mainloop()
