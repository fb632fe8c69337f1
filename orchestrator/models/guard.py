"""The "allow real model requests" guard: with LMC_ALLOW_MODEL_REQUESTS=0 only loopback servers are asked.

The test suite sets it, so no test can reach a paid API by accident: the scripted
server and the embedded model listen on 127.0.0.1 and still work; anything else
is refused before a byte is sent. Like pydantic-ai's ALLOW_MODEL_REQUESTS.
"""

from __future__ import annotations

import ipaddress
import os
from urllib.parse import urlsplit

from orchestrator.errors import ModelRequestRefused

#: The variable that turns the guard on (0, false, no or off).
VARIABLE = "LMC_ALLOW_MODEL_REQUESTS"
_OFF = ("0", "false", "no", "off")


def requests_allowed() -> bool:
    """Whether requests to non-loopback model servers are allowed (the default)."""
    # Why the environment, read at request time, and not Settings: a safety net must also hold for clients
    # built without Settings (tests, benchmarks) and in Ray workers and child processes, which inherit it.
    return os.environ.get(VARIABLE, "").strip().lower() not in _OFF


def is_loopback(api_base: str | None) -> bool:
    """Whether api_base names this machine (127.0.0.0/8, ::1, localhost); None (the provider's API) is not."""
    if not api_base:
        return False
    host = urlsplit(api_base if "//" in api_base else "//" + api_base).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_request_allowed(model: str, api_base: str | None) -> None:
    """ModelRequestRefused when the guard is on and the request would leave this machine."""
    if requests_allowed() or is_loopback(api_base):
        return
    where = api_base or "its provider's API"
    raise ModelRequestRefused(
        f"refused a request to {model} at {where}: {VARIABLE}=0 allows only servers on this machine "
        "(127.0.0.1, ::1, localhost); point api_base at a local server (e.g. "
        "orchestrator.models.scripted_server.ScriptedServer) or use orchestrator.models.testing.ScriptedModel, "
        f"or unset {VARIABLE} to allow real model requests", model=model)
