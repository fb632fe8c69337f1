"""A two-node cluster whose worker node is a container (the node image) with its own network address.

Ray needs the same Python (to the patch level) on every node and the driver, so the head, the
worker and the driver all run from the node image: the head container runs `ray start --head`
and the driver (a Fleet of docker-sandbox sessions, via `docker exec`); the worker container
joins it over the Docker bridge, so every call between them crosses a real network hop. The
worker makes its sandboxes through the host's Docker socket. The test prints where each session
ran. Skipped when the node image is not built here.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from orchestrator.ray.placement import SANDBOX_RESOURCE

pytestmark = pytest.mark.ray

SESSIONS = 4

#: the driver, run in the head container: a Fleet over the cluster, its results as JSON lines
DRIVER = """
import json, sys
from orchestrator.fleet.fleet import Fleet, FleetConfig
from orchestrator.fleet.sandbox import SandboxConfig
from orchestrator.fleet.spec import SessionSpec
from orchestrator.models.scripted_server import ScriptedServer, text
from orchestrator.settings import Settings

host, count, data = sys.argv[1], int(sys.argv[2]), sys.argv[3]
servers = [ScriptedServer(default=text("done"), host=host).start() for _ in range(count)]
specs = [SessionSpec(f"c{i}", "go", Settings(model="openai/scripted", api_base=s.url, api_key="x", mode="tools",
                                              data_dir=data)) for i, s in enumerate(servers)]
with Fleet(FleetConfig(max_sessions=count, ray=True, sandbox=SandboxConfig("docker"))) as fleet:
    for r in fleet.run(specs):
        print(json.dumps({"id": r.id, "node": r.node, "status": r.status, "failure": r.failure,
                          "attempts": r.attempts, "detail": r.detail[:200]}), flush=True)
"""


def _docker(*args: str, timeout: float = 60) -> str:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise subprocess.CalledProcessError(done.returncode, args[:2], done.stdout, done.stderr[-3000:])
    return done.stdout.strip()


def _node_image() -> str:
    try:
        tags = _docker("images", "lmc-node", "--format", "{{.Repository}}:{{.Tag}}").split()
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"no Docker here ({exc})")
    if not tags:
        pytest.skip("no lmc-node image here: build it with `sudo deploy/node/build.sh` (needs debootstrap, "
                    "Docker, and pip's registry or a wheelhouse; ~15 min cold)")
    return tags[0]


#: this checkout, mounted over the image's lmc so the nodes run the code under test
ROOT = Path(__file__).resolve().parents[2]


def _node(image: str, tmp: Path, *command: str) -> str:
    return _docker("run", "-d", "--shm-size=512m", "-v", "/var/run/docker.sock:/var/run/docker.sock",
                   "-v", f"{tmp}:{tmp}", "-v", f"{ROOT}:{ROOT}:ro", "-e", f"PYTHONPATH={ROOT}", image, *command)


def test_a_fleet_runs_docker_sandboxes_on_a_container_node(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    image = _node_image()
    (tmp_path / "driver.py").write_text(DRIVER)
    started: list[str] = []
    try:
        started.append(_node(image, tmp_path, "ray", "start", "--head", "--port=6379", "--num-cpus=1",
                             f"--resources={json.dumps({SANDBOX_RESOURCE: 0})}", "--block"))
        head_ip = _docker("inspect", started[0], "-f", "{{.NetworkSettings.IPAddress}}")
        started.append(_node(image, tmp_path, "ray", "start", f"--address={head_ip}:6379",
                             f"--resources={json.dumps({SANDBOX_RESOURCE: 2})}", "--block"))
        worker_ip = _docker("inspect", started[1], "-f", "{{.NetworkSettings.IPAddress}}")
        worker_node = _wait_for_node(started[0], worker_ip, started)
        try:
            out = _docker("exec", started[0], "python3", str(tmp_path / "driver.py"), head_ip, str(SESSIONS),
                          str(tmp_path / "data"), timeout=300)
        except subprocess.CalledProcessError as exc:
            raise AssertionError(f"the driver failed:\n{exc.stdout}\n{exc.stderr}") from None
        results = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        with capsys.disabled():
            print(f"\ncontainer node {worker_node[:12]} at {worker_ip} (head container at {head_ip}): "
                  "where each session ran")
            for r in sorted(results, key=lambda r: str(r["id"])):
                print(f"  {r['id']}  node {r['node']}  {r['status']}  attempts {r['attempts']}  {r['detail'][:80]}")
        assert sorted(r["id"] for r in results) == [f"c{i}" for i in range(SESSIONS)], out
        assert all((r["status"], r["failure"]) == ("complete", None) for r in results), results
        assert {r["node"] for r in results} == {worker_node[:12]}  # the only node offering sandboxes
    finally:
        for container in started:
            subprocess.run(["docker", "rm", "-f", container], capture_output=True)


def _wait_for_node(head: str, address: str, started: list[str]) -> str:
    """The id of the Ray node at `address` once the head sees it alive (the nodes' logs if never)."""
    ask = ("import ray, json; ray.init(address='auto', log_to_driver=False); "
           "print(json.dumps([[n['NodeID'], n['NodeManagerAddress']] for n in ray.nodes() if n['Alive']]))")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            alive = json.loads(_docker("exec", head, "python3", "-c", ask).splitlines()[-1])
        except (subprocess.CalledProcessError, ValueError, IndexError):
            alive = []
        found = [node for node, where in alive if where == address]
        if found:
            return str(found[0])
        time.sleep(2)
    logs = [subprocess.run(["docker", "logs", "--tail", "15", c], capture_output=True, text=True) for c in started]
    raise AssertionError(f"the container node at {address} never joined; logs:\n"
                         + "\n".join(p.stdout + p.stderr for p in logs))
