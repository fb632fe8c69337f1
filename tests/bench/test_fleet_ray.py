"""The Fleet on real Ray: sessions in worker actors, results streamed back, harness rows unchanged."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from benchmarks.harness.runner import RunConfig, run_bench
from orchestrator.fleet.fleet import Fleet, FleetConfig


@pytest.mark.ray
def test_oracle_and_null_over_ray_workers(task_factory: Callable[..., Path], tmp_path: Path) -> None:
    for name in ("one", "two", "three"):
        task_factory(name)
    config = RunConfig(suite=tmp_path / "suite", output=tmp_path / "out", models=("oracle", "null"), parallel=4)
    with Fleet(FleetConfig(max_sessions=4, ray=True, workers=2)) as fleet:
        rows = list(run_bench(config, fleet=fleet))
    assert sorted((r.model, r.task, r.reward) for r in rows) == sorted(
        [("oracle", n, 1.0) for n in ("one", "two", "three")] + [("null", n, 0.0) for n in ("one", "two", "three")])
    assert all(r.failure is None for r in rows)
