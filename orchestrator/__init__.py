"""The conversation and its faces: the Computer, the Interpreter, the Fleet, the CLI.

`from orchestrator import Computer` is cheap: names load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Computer": "orchestrator.computer",
    "Interpreter": "orchestrator.session.interpreter",
    "Fleet": "orchestrator.fleet.fleet",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'orchestrator' has no attribute {name!r}")
