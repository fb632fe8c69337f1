"""The device actor benchmark (benchmarks/perf/device_actors.py) run with tiny parameters, so it cannot rot.

Structure and that every desktop answered are checked; timings never are (they belong to the benchmark).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks.perf.bench_devices import _APP
from benchmarks.perf.device_actors import desktops_held, host_config, round_trip, show, write

pytestmark = pytest.mark.ray

SMALL = host_config(640, 400)


@pytest.fixture(scope="module")
def ray_with_screens() -> Iterator[Any]:
    """A local Ray with two `display` slots (an earlier module's Ray is reused when it has them)."""
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    import ray

    if ray.is_initialized() and ray.cluster_resources().get("display", 0) < 2:
        ray.shutdown()
    started = not ray.is_initialized()
    if started:
        ray.init(address="local", num_cpus=2, resources={"display": 2}, include_dashboard=False,
                 log_to_driver=False)
    yield ray
    if started:
        ray.shutdown()


def display_slots_freed(ray: Any, timeout: float = 20.0) -> bool:
    """Whether every `display` slot is free again (Ray releases a killed actor's slot a moment later)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ray.available_resources().get("display", 0) == ray.cluster_resources()["display"]:
            return True
        time.sleep(0.2)
    return False


def test_round_trip_measures_both_sides_and_says_where_the_time_goes(ray_with_screens: Any) -> None:
    trip = round_trip(_APP, 3, SMALL)
    assert trip["call"] == "display.view"
    sides = ["in_process", "actor"] + (["actor_at_nice_0"] if trip["actor_at_nice_0"] is not None else [])
    for side in sides:
        assert trip[side]["n"] == 3
        assert 0 < trip[side]["p50_ms"] <= trip[side]["p90_ms"] <= trip[side]["max_ms"]
    assert trip["actor_over_in_process_p50"] > 0
    parts = trip["breakdown"]
    assert parts["image_bytes"] > 1000  # a PNG of the app, not an empty screen's few bytes
    assert parts["grab_p50_ms"] > 0 and parts["actor_call_without_image_p50_ms"] > 0
    assert display_slots_freed(ray_with_screens)


def test_every_desktop_answers_at_every_level_and_the_figures_are_saved(
        ray_with_screens: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # a limit no loaded machine misses: both levels run whatever the timings
    held = desktops_held(_APP, [1, 2], 2.0, SMALL, limit_s=3600)
    assert [one["desktops"] for one in held["levels"]] == [1, 2]
    assert held["held"] == 2 and held["capped"]
    for one in held["levels"]:
        assert len(one["per_desktop"]) == one["desktops"]
        assert all(desktop["n"] >= 1 for desktop in one["per_desktop"])
        assert one["screenshots"] == sum(desktop["n"] for desktop in one["per_desktop"])
        assert one["rss_mib_per_desktop"] > one["pss_mib_per_desktop"] > one["xvfb_pss_mib"] > 0
        assert one["app_pss_mib"] > 0 and one["actor_niceness"] in range(-20, 20)
        assert len(one["load_average"]) == 3
    assert display_slots_freed(ray_with_screens)  # every seat's actor was ended
    saved = json.loads(write(tmp_path / "devices", None, held).read_text())
    assert saved["desktops_held"]["held"] == 2 and saved["round_trip"] is None
    show(None, held)
    assert "desktops held with every p90 <= 3600 s: 2" in capsys.readouterr().out
