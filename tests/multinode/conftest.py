"""Ray's own multi-node test cluster: a head and two worker raylets on this machine, each its own node.

The head offers no sandbox slots (it hosts only the driver); each worker node offers
`lmc_sandbox` slots and one `display`, as `ray start --resources` would on a real machine.
Node death is noticed within a few seconds (short health checks) so a killed node's sessions
come back quickly.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.ray.placement import DISPLAY_RESOURCE, SANDBOX_RESOURCE

#: sandbox slots each worker node offers
SLOTS = 3
#: seconds between health checks of a node, and misses before it is declared dead
HEALTH = {"health_check_initial_delay_ms": 0, "health_check_period_ms": 1000, "health_check_failure_threshold": 3}


def worker_node(cluster: Any) -> Any:
    """A new worker raylet offering SLOTS sandboxes and one display."""
    node = cluster.add_node(num_cpus=1, resources={SANDBOX_RESOURCE: SLOTS, DISPLAY_RESOURCE: 1})
    cluster.wait_for_nodes()
    return node


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """A head node and two worker nodes, with this process's Ray connected to the head."""
    import ray
    from ray.cluster_utils import Cluster

    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    if ray.is_initialized():
        ray.shutdown()
    made = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "_system_config": HEALTH})
    try:
        for _ in range(2):
            worker_node(made)
        ray.init(address=made.address, log_to_driver=False)
        yield made
    finally:
        ray.shutdown()
        made.shutdown()


def _ancestors(pid: int) -> Iterator[int]:
    while pid > 1:
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (FileNotFoundError, ProcessLookupError):
            return
        yield pid


def raylet_node(cluster: Any, pid: int) -> str | None:
    """The id of the node whose raylet started process `pid` (found by walking up its parents)."""
    raylets = {info.process.pid: node.node_id for node in [cluster.head_node, *cluster.worker_nodes]
               for info in node.all_processes.get("raylet", [])}
    return next((raylets[p] for p in _ancestors(pid) if p in raylets), None)
