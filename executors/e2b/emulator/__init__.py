"""A local E2B-compatible server: run the e2b backend offline, for tests and development.

It speaks the part of E2B's HTTP protocol the e2b SDK uses, so the real,
unmodified SDK (and so `E2BExecutor`) talks to it through its own settings
(`api_url`, `sandbox_url`, `api_key`, or E2B_API_URL / E2B_SANDBOX_URL /
E2B_API_KEY):

    python -m executors.e2b.emulator --port 49982     # prints the variables to export

    from executors.e2b.emulator import E2BServer
    with E2BServer() as server:                       # a free port of 127.0.0.1
        executor = E2BConfig(**server.sdk_options(), python=sys.executable).create()

What it serves:

    control plane   POST /v2/sandboxes, POST /v2/sandboxes/{id}/connect,
                    POST /sandboxes/{id}/timeout, GET|DELETE /sandboxes/{id}   (api.py)
    envd (49983)    Connect-RPC process.Process/{Start,Connect,SendInput,SendSignal,
                    CloseStdin,List}; GET /health; GET|POST /files               (envd.py)
    jupyter (49999) POST /execute (NDJSON stream), Python only                    (interpreter.py)

A sandbox is a temp folder on this machine whose commands run as local process
groups with this machine's Python and tools: it isolates nothing, so run only
code you would run on the host. Sandboxes expire at their timeout like E2B's.
Tests script failures (`fail_next`) and make a sandbox vanish (`lose`), as the
real cloud sometimes does. Not served (the backend does not use them): PTY,
the filesystem RPC service and watches, pause/resume, snapshots, templates,
HTTP/2 (the SDK speaks HTTP/1.1 to plain-http URLs), user switching.

Modules, each importing only those above it: sandboxes (processes), state (the
cloud's sandboxes and faults), api / envd / interpreter (the three services),
app (routing by headers), server (threads on a port). Needs the `e2b` extra
and werkzeug.
"""

from __future__ import annotations

from executors.e2b.emulator.sandboxes import Sandbox
from executors.e2b.emulator.server import API_KEY, TEMPLATES, E2BServer
from executors.e2b.emulator.state import Cloud, Fault

__all__ = ["API_KEY", "TEMPLATES", "Cloud", "E2BServer", "Fault", "Sandbox"]
