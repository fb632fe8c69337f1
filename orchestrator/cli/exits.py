"""`lmc`'s exit codes, in one place (the CLI modules and plugged-in commands read them here).

0 ok, 1 the code or the model failed, 2 a usage error, 3 a backend failed, 4 `lmc chat TASK`
ended unfinished, 130 stopped by Ctrl-C.
"""

from __future__ import annotations

EXIT_USAGE, EXIT_BACKEND = 2, 3
#: `lmc chat TASK` ended without finishing: stuck, max_steps, a budget or a timeout
EXIT_UNFINISHED = 4
#: stopped by the user (Ctrl-C), as shells report SIGINT
EXIT_STOPPED = 130
