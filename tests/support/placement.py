"""Session hooks for the multi-node tests: each session says, from its worker, where it and its sandbox ran.

Shipped to Ray workers by import (tests.support is importable there through PYTHONPATH).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.fleet.spec import SandboxPlan


def _ray_node() -> str:
    import ray

    return str(ray.get_runtime_context().get_node_id())


@dataclass(frozen=True)
class WhereHooks:
    """prepare() leaves a marker `<session>@<node>` in `markers`; evaluate() names the sandbox's maker."""

    session: str
    markers: str

    def open(self, backend: str, desktop_env: dict[str, str]) -> SandboxPlan:
        """Nothing to stage."""
        return SandboxPlan()

    def prepare(self, computer: Any) -> None:
        """Say (on the shared disk) that this session started on this node."""
        Path(self.markers, f"{self.session}@{_ray_node()}").touch()

    def evaluate(self, computer: Any) -> dict[str, Any]:
        """The pid of the process that made the sandbox (local: the agent's parent; docker: the owner label)."""
        transport = computer.executor.client.transport
        found: dict[str, Any] = {"worker_pid": os.getpid(), "worker_node": _ray_node()}
        if hasattr(transport, "proc"):
            agent = transport.proc.pid
            found.update(sandbox=f"local pid {agent}", maker_pid=_parent(agent))
        else:
            labels = transport.api.inspect_container(transport.container_id)["Config"]["Labels"]
            found.update(sandbox=f"docker {transport.container_id[:12]}",
                         maker_pid=int(labels["lmc.owner"].split(":")[1]))
        return found

    def close(self) -> None:
        """Nothing to free."""


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
