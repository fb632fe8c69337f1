"""The device actor on real Ray: placed by the `display` resource, reporting and surviving Xvfb's death."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from desktop_app import AppState

from devices.desktop import DesktopConfig
from devices.errors import DesktopDied, DeviceUsageError, UnknownCall
from orchestrator.ray.device_actor import DeviceHostConfig, create_device_actor

APP = Path(__file__).with_name("tk_app.py")

pytestmark = pytest.mark.ray


@pytest.fixture(scope="session")
def ray_session() -> Iterator[Any]:
    """A local Ray with two `display` slots, as a node with screens would advertise."""
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    import ray

    if ray.is_initialized() and ray.cluster_resources().get("display", 0) < 1:
        ray.shutdown()  # an earlier module's Ray has no screens; a node with screens is what is tested here
    started = not ray.is_initialized()
    if started:
        ray.init(address="local", num_cpus=2, resources={"display": 2}, include_dashboard=False,
                 log_to_driver=False)
    assert ray.cluster_resources().get("display", 0) >= 1
    yield ray
    if started:
        ray.shutdown()


@pytest.fixture(scope="module")
def actor(ray_session: Any) -> Iterator[Any]:
    config = DeviceHostConfig(desktop=DesktopConfig(width=1024, height=768), warm_ocr=True)
    handle = create_device_actor(config)
    yield handle
    ray_session.get(handle.close.remote())
    ray_session.kill(handle)


def test_actor_drives_its_own_desktop(ray_session: Any, actor: Any, tmp_path: Path) -> None:
    health = ray_session.get(actor.health.remote())
    assert health["alive"] and health["virtual"] and health["pid"] != os.getpid()
    assert ray_session.get(actor.call.remote("display.size")) == [1024, 768]
    env = dict(os.environ, **ray_session.get(actor.env.remote()))
    app = AppState(tmp_path / "state.json")
    proc = subprocess.Popen([sys.executable, str(APP), str(app.path)], env=env)
    try:
        app.wait(lambda s: s["boxes"]["entry"][2] > 1, timeout=15)
        ray_session.get(actor.call.remote("mouse.click", [], {"text": "Submit"}))
        app.wait(lambda s: s["clicks"].get("Submit@20") == 1)
    finally:
        proc.terminate()
        proc.wait(timeout=5)


def test_errors_cross_the_actor_boundary_as_our_classes(ray_session: Any, actor: Any) -> None:
    with pytest.raises(UnknownCall, match="unknown computer call 'mouse.clik'"):
        ray_session.get(actor.call.remote("mouse.clik"))


def test_xvfb_death_is_reported_and_restart_brings_the_devices_back(ray_session: Any, actor: Any) -> None:
    ray_session.get(actor.call.remote("mouse.move", [5, 5]))  # the actor now holds an input connection
    before = ray_session.get(actor.health.remote())
    os.kill(before["xvfb_pid"], signal.SIGKILL)
    deadline = time.monotonic() + 5
    while ray_session.get(actor.health.remote())["alive"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not ray_session.get(actor.health.remote())["alive"]
    with pytest.raises(DesktopDied, match=r"died .*restart\(\)"):
        ray_session.get(actor.call.remote("display.size"))
    after = ray_session.get(actor.restart.remote())
    assert after["alive"] and after["display"] == before["display"]
    assert ray_session.get(actor.call.remote("display.size")) == [1024, 768]
    ray_session.get(actor.call.remote("mouse.move", [300, 200]))
    assert ray_session.get(actor.call.remote("mouse.position")) == {"x": 300, "y": 200}


def test_host_display_config_refuses_both_screens() -> None:
    with pytest.raises(DeviceUsageError, match="either a virtual desktop or the host display"):
        DeviceHostConfig(desktop=DesktopConfig(), display=":0")


def test_remote_devices_travel_and_drive_the_actors_desktop(ray_session: Any, tmp_path: Path) -> None:
    """RemoteDevices (what a Ray-hosted session holds) pickles, answers as the devices do, records on the
    actor's node and, once closed, says the desktop is gone instead of hanging."""
    from ray import cloudpickle

    from orchestrator.ray.device_actor import open_device_actor
    from orchestrator.ray.errors import DeviceActorLost

    screen = open_device_actor(DeviceHostConfig(desktop=DesktopConfig(width=800, height=600)))
    try:
        assert screen.node_id == ray_session.get_runtime_context().get_node_id()
        copy = cloudpickle.loads(cloudpickle.dumps(screen))  # as it travels to a session or fleet worker
        assert copy.display.size() == [800, 600]
        app = AppState(tmp_path / "state.json")
        proc = subprocess.Popen([sys.executable, str(APP), str(app.path)], env=dict(os.environ, **copy.env()))
        try:
            app.wait(lambda s: s["boxes"]["entry"][2] > 1, timeout=15)
            video = tmp_path / "screen.mp4"
            assert copy.record(video) == video
            copy.mouse.click(text="Submit")
            app.wait(lambda s: s["clicks"].get("Submit@20") == 1)
            assert [b["text"] for b in copy.display.find_text("Submit")] == ["Submit"]
            assert screen.stop_recording() == video and video.stat().st_size > 0  # the original sees the same actor
        finally:
            proc.terminate()
            proc.wait(timeout=5)
        copy.check()
    finally:
        screen.close()
    with pytest.raises(DeviceActorLost, match="device actor of this session's screen died"):
        copy.display.size()


def test_a_cluster_without_screens_is_told_how_to_offer_one(tmp_path: Path) -> None:
    code = ("import ray\nray.init(address='local', num_cpus=1, include_dashboard=False)\n"
            "from orchestrator.ray.device_actor import open_device_actor\n"
            "try:\n    open_device_actor()\nexcept Exception as exc:\n    print(type(exc).__name__, exc)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[2],
                          env=dict(os.environ, RAY_AUTH_MODE="disabled", PYTHONPATH=str(Path(__file__).parents[2])))
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("DeviceUsageError no node of this Ray cluster offers a screen"), done.stdout
    assert "ray start --resources" in done.stdout
