import os
import random
import tkinter as tk
from lmc_tk import publish, window
code = "%06d" % random.SystemRandom().randrange(10**6)
# the verifier learns the code from the app's state (not in /logs/verifier, which is emptied before it runs)
os.makedirs(os.path.join(os.environ.get("LOGS_DIR", "/logs"), "app"), exist_ok=True)
with open(os.path.join(os.environ.get("LOGS_DIR", "/logs"), "app", "vault-code"), "w") as out:
    out.write(code)
root = window("Vault")
root.title("Vault - code " + code)
label = tk.Label(root, text="Access code: " + code, font=("TkDefaultFont", 20)); label.pack(pady=40)
publish(root, {"code": label})
root.mainloop()
