import tkinter as tk
from lmc_tk import publish, save, window
root = window("Order form")
tk.Label(root, text="Name").grid(row=0, column=0, padx=8, pady=8)
name = tk.Entry(root, width=30); name.grid(row=0, column=1)
tk.Label(root, text="Email").grid(row=1, column=0, padx=8, pady=8)
email = tk.Entry(root, width=30); email.grid(row=1, column=1)
def submit():
    save("submission.json", {"name": name.get(), "email": email.get()})
    root.title("Order form - sent")
button = tk.Button(root, text="Submit", command=submit); button.grid(row=2, column=1, pady=8)
publish(root, {"name": name, "email": email, "submit": button})
root.mainloop()
