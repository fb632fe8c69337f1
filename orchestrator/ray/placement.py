"""Where fleet sessions may run: the nodes that offer sandbox slots and desktops, as Ray resources.

A node says what it can host when it joins the cluster:

    ray start --address HEAD:6379 --resources '{"lmc_sandbox": 32, "display": 4}'

`lmc_sandbox` is how many sandboxes run there at once; `display` how many of them may have a
virtual desktop (the same resource the device actor asks for). A fleet starts one worker on
each node that offers `lmc_sandbox`, pinned there, so the node's sandboxes and warm pool live
next to it; a cluster where no node offers it (a plain `ray.init()`) gets `workers` workers
spread by Ray instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Ray resource: sandboxes a node hosts at once (the fleet's per-node admission limit there)
SANDBOX_RESOURCE = "lmc_sandbox"
#: Ray resource: virtual desktops a node hosts (also asked for by orchestrator/ray/device_actor.py)
DISPLAY_RESOURCE = "display"
#: `display` slots a local Ray started by lmc offers (orchestrator.ray.cluster.ensure_ray)
LOCAL_DISPLAYS = 4


@dataclass(frozen=True)
class NodeOffer:
    """What one live node offers the fleet."""

    node_id: str  #: Ray's node id (hex)
    address: str  #: its IP address
    slots: int  #: sandboxes at once (its lmc_sandbox resource)
    displays: int  #: desktops at once (its display resource)


def sandbox_nodes(ray: Any) -> list[NodeOffer]:
    """The live nodes offering lmc_sandbox slots, in Ray's order (empty when none declares any)."""
    offers = []
    for node in ray.nodes():
        resources = node.get("Resources", {})
        slots = int(resources.get(SANDBOX_RESOURCE, 0))
        if node.get("Alive") and slots > 0:
            offers.append(NodeOffer(node["NodeID"], node.get("NodeManagerAddress", ""), slots,
                                    int(resources.get(DISPLAY_RESOURCE, 0))))
    return offers


def declares_displays(ray: Any, node_id: str) -> bool:
    """Whether the node declares `display` slots (a device actor there takes one; else it needs none)."""
    return any(node.get("NodeID") == node_id and node.get("Resources", {}).get(DISPLAY_RESOURCE, 0) > 0
               for node in ray.nodes())


def offers_displays(ray: Any) -> bool:
    """Whether any node of the cluster declares `display` slots."""
    return bool(ray.cluster_resources().get(DISPLAY_RESOURCE, 0) >= 1)


def displays_free(ray: Any) -> bool:
    """Whether a `display` slot of the cluster is free now (Ray's view of it, a moment old)."""
    return bool(ray.available_resources().get(DISPLAY_RESOURCE, 0) >= 1)
