"""Errors of the runtime volume.

    SandboxError (executors.errors)
    └── RuntimeBuildFailed      collecting the runtime from the lmc sandbox image failed
"""

from __future__ import annotations

from executors.errors import SandboxError


class RuntimeBuildFailed(SandboxError):
    """Collecting the runtime volume from the lmc sandbox image failed; the message has its output."""
