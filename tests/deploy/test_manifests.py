"""deploy/ checked as far as this machine allows: YAML parses, `ray up` configs against Ray's own
autoscaler schema, KubeRay manifests against the fields the RayCluster/RayJob CRDs require, the
resources named as the Fleet's placement reads them, the RayJob's command line parsed by lmc's
own parser, and the shell recipes syntax-checked.

The KubeRay CRD's OpenAPI schema ships with the operator's Helm chart, not with any pip or npm
package reachable here, so the CRD checks below are written from its required fields
(ray.io/v1: headGroupSpec.rayStartParams/template, workerGroupSpecs[].groupName/...).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestrator.cli import build_parser
from orchestrator.ray.placement import DISPLAY_RESOURCE, SANDBOX_RESOURCE

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
RAY_UP = sorted((DEPLOY / "ray-up").glob("*.yaml"))
KUBERAY = sorted((DEPLOY / "kuberay").glob("*.yaml"))


def _load(path: Path) -> dict[str, Any]:
    loaded = yaml.safe_load(path.read_text())
    assert isinstance(loaded, dict), f"{path} is not a YAML mapping"
    return loaded


def test_every_manifest_parses() -> None:
    found = sorted(DEPLOY.rglob("*.yaml"))
    assert len(found) >= 4 and RAY_UP and KUBERAY, found
    for path in found:
        _load(path)


@pytest.mark.parametrize("path", RAY_UP, ids=lambda p: p.name)
def test_ray_up_configs_match_rays_autoscaler_schema(path: Path) -> None:
    import jsonschema
    import ray

    schema = json.loads((Path(ray.__file__).parent / "autoscaler" / "ray-schema.json").read_text())
    config = _load(path)
    jsonschema.validate(config, schema)
    # what `ray up` copies and runs exists in the checkout it copies
    assert config["file_mounts"] == {"/opt/lmc": "."}
    for command in config["setup_commands"]:
        script = command.split()[1]
        assert (DEPLOY.parent / script.removeprefix("/opt/lmc/")).is_file(), command
    offers = _ray_up_resources(config)
    assert offers["head"].get(SANDBOX_RESOURCE) == 0, "the head hosts the driver, not sandboxes"
    assert offers["worker"].get(SANDBOX_RESOURCE, 0) > 0 and offers["worker"].get(DISPLAY_RESOURCE, 0) > 0


def _ray_up_resources(config: dict[str, Any]) -> dict[str, dict[str, int]]:
    """The resources each kind of node offers: from available_node_types, or from `ray start --resources`."""
    types = config.get("available_node_types")
    if types:
        head = config["head_node_type"]
        worker = next(name for name in types if name != head)
        return {"head": types[head]["resources"], "worker": types[worker]["resources"]}
    return {kind: _start_resources(config[f"{kind}_start_ray_commands"]) for kind in ("head", "worker")}


def _start_resources(commands: list[str]) -> dict[str, int]:
    for command in commands:
        for word in shlex.split(command):
            if word.startswith("--resources="):
                parsed: dict[str, int] = json.loads(word.partition("=")[2])
                return parsed
    return {}


def _pods(doc: dict[str, Any]) -> dict[str, Any]:
    """The RayCluster spec of a RayCluster or a RayJob."""
    return doc["spec"] if doc["kind"] == "RayCluster" else doc["spec"]["rayClusterSpec"]


@pytest.mark.parametrize("path", KUBERAY, ids=lambda p: p.name)
def test_kuberay_manifests_have_what_the_crds_require(path: Path) -> None:
    doc = _load(path)
    assert doc["apiVersion"] == "ray.io/v1" and doc["kind"] in ("RayCluster", "RayJob")
    assert doc["metadata"]["name"]
    spec = _pods(doc)
    head = spec["headGroupSpec"]
    _check_group(head, "head")
    assert json.loads(json.loads(head["rayStartParams"]["resources"]))[SANDBOX_RESOURCE] == 0
    assert spec["workerGroupSpecs"], "no worker group"
    for group in spec["workerGroupSpecs"]:
        assert group["groupName"]
        assert 0 <= group["minReplicas"] <= group["replicas"] <= group["maxReplicas"], group
        _check_group(group, group["groupName"])
        offered = json.loads(json.loads(group["rayStartParams"]["resources"]))
        assert offered[SANDBOX_RESOURCE] > 0
        _check_dind(group["template"]["spec"])
    if doc["kind"] == "RayJob":
        words = shlex.split(doc["spec"]["entrypoint"])
        assert words[:3] == ["lmc", "bench", "run"]
        args = build_parser().parse_args(words[1:])  # exits (fails the test) on a wrong flag
        assert args.ray


def _check_group(group: dict[str, Any], what: str) -> None:
    params = group["rayStartParams"]
    # KubeRay's rayStartParams is map[string]string: a number or a mapping is rejected by the CRD
    assert all(isinstance(v, str) for v in params.values()), f"{what}: rayStartParams values must be strings"
    pod = group["template"]["spec"]
    names = [c["name"] for c in pod["containers"]]
    assert len(set(names)) == len(names) and all(c.get("image") for c in pod["containers"]), what
    volumes = {v["name"] for v in pod.get("volumes", [])}
    for container in pod["containers"]:
        for mount in container.get("volumeMounts", []):
            assert mount["name"] in volumes, f"{what}/{container['name']}: no volume {mount['name']!r}"


def _check_dind(pod: dict[str, Any]) -> None:
    """The worker's DOCKER_HOST is the socket the dind sidecar serves, on a shared volume."""
    containers = {c["name"]: c for c in pod["containers"]}
    ray_env = {e["name"]: e.get("value") for e in containers["ray-worker"]["env"]}
    dind = containers["dind"]
    assert dind["securityContext"]["privileged"] is True
    assert f"--host={ray_env['DOCKER_HOST']}" in dind["args"]
    socket_dir = os.path.dirname(ray_env["DOCKER_HOST"].removeprefix("unix://"))
    assert any(m["mountPath"] == socket_dir for m in dind["volumeMounts"])
    assert any(m["mountPath"] == socket_dir for m in containers["ray-worker"]["volumeMounts"])
    start = containers["ray-worker"]["lifecycle"]["postStart"]["exec"]["command"]
    assert start[-1] == "/opt/lmc-node/load-sandbox-image.sh"
    assert "/opt/lmc-node/" in (DEPLOY / "node" / "build.sh").read_text()


@pytest.mark.parametrize("script", sorted(DEPLOY.rglob("*.sh")), ids=lambda p: p.name)
def test_recipes_are_valid_shell(script: Path) -> None:
    checked = subprocess.run(["sh", "-n", str(script)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


def test_node_image_packages_exist_in_debian() -> None:
    wanted = [line.strip() for line in (DEPLOY / "node" / "packages.txt").read_text().splitlines()
              if line.strip() and not line.startswith("#")]
    shown = subprocess.run(["apt-cache", "show", "--no-all-versions", *wanted], capture_output=True, text=True)
    if "No packages found" in shown.stderr and not shown.stdout:
        pytest.skip("apt-cache knows no packages here (run apt-get update)")
    assert shown.returncode == 0, shown.stderr
