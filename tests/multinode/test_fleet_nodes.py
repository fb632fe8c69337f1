"""A Fleet over several raylets (Ray's multi-node test cluster): placement, per-node pools, a node lost.

Each session says, from its worker, which process made its sandbox; the test finds the raylet
that started that process (by walking up its parents) and checks that it is the node the result
names. Each test prints where every session ran.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from orchestrator.fleet.fleet import Fleet, FleetConfig
from orchestrator.fleet.sandbox import SandboxConfig
from orchestrator.fleet.spec import SessionResult, SessionSpec
from orchestrator.models.scripted_server import ScriptedServer, text, tool_call
from orchestrator.settings import Settings
from tests.multinode.conftest import SLOTS, raylet_node, worker_node
from tests.support.placement import WhereHooks

pytestmark = pytest.mark.ray


def _settings(srv: ScriptedServer, data: Path) -> Settings:
    return Settings(model="openai/scripted", api_base=srv.url, api_key="x", mode="tools", data_dir=data,
                    context_window=32768, retry_delay=0.01, max_retries=1)


def _specs(servers: list[ScriptedServer], data: Path, markers: Path) -> list[SessionSpec]:
    return [SessionSpec(f"s{i}", "go", _settings(srv, data), hooks=WhereHooks(f"s{i}", str(markers)))
            for i, srv in enumerate(servers)]


def _show(capsys: pytest.CaptureFixture[str], title: str, results: list[SessionResult]) -> None:
    with capsys.disabled():
        print(f"\n{title}: where each session ran")
        for r in sorted(results, key=lambda r: int(r.id[1:])):
            where = r.evaluation.get("sandbox", "-")
            retried = f"  retried: {r.retried[0][:90]}..." if r.retried else ""
            print(f"  {r.id:4} node {r.node}  {where:24} attempts {r.attempts}  {r.status}{retried}")


def _check_sandboxes(cluster: Any, results: list[SessionResult]) -> None:
    """Every sandbox was made by a process of the raylet the result names (asked while the workers live)."""
    for r in results:
        maker = r.evaluation["maker_pid"]
        assert maker == r.evaluation["worker_pid"], r  # the session's own worker made it
        node = raylet_node(cluster, maker)
        assert node is not None and node.startswith(r.node) and r.evaluation["worker_node"] == node, (r, node)


@pytest.mark.parametrize("backend", ["local", "docker"])
def test_sessions_spread_over_nodes_and_their_sandboxes_live_there(
        cluster: Any, backend: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import ray

    workers = {n["NodeID"] for n in ray.nodes() if n["Alive"] and n["Resources"].get("lmc_sandbox")}
    servers = [ScriptedServer(default=text("done")).__enter__() for _ in range(2 * SLOTS)]
    try:
        config = FleetConfig(max_sessions=2 * SLOTS, ray=True, max_retries=1, sandbox=SandboxConfig(backend))
        with Fleet(config) as fleet:
            results = list(fleet.run(_specs(servers, tmp_path / "data", tmp_path)))
            _check_sandboxes(cluster, results)  # while the workers (the sandboxes' makers) still run
    finally:
        for srv in servers:
            srv.__exit__(None, None, None)
    _show(capsys, f"{backend} sandboxes over {len(workers)} nodes", results)
    assert sorted(r.id for r in results) == sorted(f"s{i}" for i in range(2 * SLOTS))
    assert all((r.status, r.failure, r.attempts) == ("complete", None, 1) for r in results), results
    # 6 sessions, 3 slots per node, least loaded first: every worker node took its share, the head none
    assert Counter(r.node for r in results) == Counter({w[:12]: SLOTS for w in workers})


def test_warm_pools_are_per_node(cluster: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import docker

    config = FleetConfig(max_sessions=4, ray=True, sandbox=SandboxConfig("docker", warm=1))
    api = docker.from_env().api
    with ScriptedServer(default=text("done")) as srv, Fleet(config) as fleet:
        assert fleet.warm_up(timeout=120)
        owners = [c["Labels"]["lmc.owner"] for c in api.containers(filters={"label": "lmc.sandbox"})]
        nodes = Counter(raylet_node(cluster, int(o.split(":")[1])) for o in owners)
        with capsys.disabled():
            print(f"\nwarm pools: {dict(Counter({str(k)[:12]: v for k, v in nodes.items()}))}")
        workers = {n.node_id for n in cluster.worker_nodes}
        # one warm sandbox made on each worker node (other containers on this machine are not ours)
        assert {k: v for k, v in nodes.items() if k in workers} == dict.fromkeys(workers, 1)
        spec = SessionSpec("s0", "go", _settings(srv, tmp_path / "data"), hooks=WhereHooks("s0", str(tmp_path)))
        [result] = list(fleet.run([spec]))
        assert result.failure is None, result
        _check_sandboxes(cluster, [result])


def test_a_node_killed_mid_run_has_its_sessions_retried_on_other_nodes(
        cluster: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doomed = worker_node(cluster)
    markers = tmp_path / "markers"
    markers.mkdir()
    count = 3 * SLOTS
    # the first reply runs code that waits long enough for the node to die under it; a retry gets "done"
    servers = [ScriptedServer([tool_call("python", "import time; time.sleep(20)")], default=text("done")
                              ).__enter__() for _ in range(count)]
    try:
        config = FleetConfig(max_sessions=count, ray=True, max_retries=2, sandbox=SandboxConfig("local"))
        with Fleet(config) as fleet:
            results = []
            killed: set[str] = set()
            for result in _run_killing(fleet, _specs(servers, tmp_path / "data", markers), cluster, doomed,
                                       markers, killed):
                results.append(result)
            _check_sandboxes(cluster, results)
    finally:
        for srv in servers:
            srv.__exit__(None, None, None)
    _show(capsys, f"node {doomed.node_id[:12]} killed mid-run", results)
    assert killed, "no session started on the node that was to be killed"
    ids = [r.id for r in results]
    assert sorted(ids) == sorted(f"s{i}" for i in range(count)) and len(set(ids)) == count  # none lost, none twice
    assert all(r.failure is None and r.status == "complete" for r in results), results
    moved = {r.id: r for r in results if r.id in killed}
    for r in moved.values():
        assert r.node != doomed.node_id[:12] and r.attempts == 2, r
        assert len(r.retried) == 1, r
        assert r.retried[0].startswith(f"infra: the fleet worker running session {r.id} died"), r
    assert all(r.attempts == 1 for r in results if r.id not in killed)


def _run_killing(fleet: Fleet, specs: list[SessionSpec], cluster: Any, doomed: Any, markers: Path,
                 killed: set[str]) -> Any:
    """Run the fleet; once every slot of the doomed node holds a session, kill that node's raylet."""
    import threading

    def kill() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            on_doomed = {p.name.split("@")[0] for p in markers.iterdir() if p.name.endswith(doomed.node_id)}
            if len(on_doomed) == SLOTS:
                time.sleep(1.0)  # the sessions are inside their 20 s of code
                killed.update(on_doomed)
                cluster.remove_node(doomed, allow_graceful=False)
                return
            time.sleep(0.2)

    killer = threading.Thread(target=kill, daemon=True)
    killer.start()
    yield from fleet.run(specs)
    killer.join(timeout=10)
