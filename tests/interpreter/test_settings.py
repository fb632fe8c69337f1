"""Settings resolve once: arguments > LMC_* environment > config file > defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.errors import SettingsError
from orchestrator.settings import resolve


def test_precedence(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('model = "from-file"\nmax_steps = 7\nauto_run = true\n')
    env = {"LMC_MODEL": "from-env", "LMC_MAX_STEPS": "9"}
    s = resolve({"model": "from-args", "max_steps": None}, env=env, config_file=config)
    assert (s.model, s.max_steps, s.auto_run) == ("from-args", 9, True)
    assert resolve(env={}, config_file=config).model == "from-file"
    assert resolve(env={}, config_file=tmp_path / "none.toml").max_steps == 20


def test_ray_address_env_turns_on_ray(tmp_path: Path) -> None:
    s = resolve(env={"RAY_ADDRESS": "ray://head:10001"}, config_file=tmp_path / "none.toml")
    assert s.uses_ray and s.ray_address == "ray://head:10001"


def test_bad_values_say_what_was_expected(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="LMC_MAX_STEPS: max_steps must be int, got 'many'"):
        resolve(env={"LMC_MAX_STEPS": "many"}, config_file=tmp_path / "none.toml")
    with pytest.raises(SettingsError, match="unknown sandbox 'dokcer'; known: local, docker, e2b"):
        resolve({"sandbox": "dokcer"}, env={}, config_file=tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("modle = 'x'\n")
    with pytest.raises(SettingsError, match="unknown settings modle"):
        resolve(env={}, config_file=bad)
