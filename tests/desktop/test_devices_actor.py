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
