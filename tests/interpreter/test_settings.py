"""Settings resolve once: arguments > LMC_* environment > config file > defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.errors import SettingsError
from orchestrator.settings import Settings, resolve


def test_precedence(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('model = "from-file"\nmax_steps = 7\nauto_run = true\n')
    env = {"LMC_MODEL": "from-env", "LMC_MAX_STEPS": "9"}
    s = resolve({"model": "from-args", "max_steps": None}, env=env, config_file=config)
    assert (s.llm.model, s.max_steps, s.auto_run) == ("from-args", 9, True)
    assert resolve(env={}, config_file=config).llm.model == "from-file"
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


def test_settings_hold_one_model_config_and_take_its_fields_flat(tmp_path: Path) -> None:
    import dataclasses

    from orchestrator.models.litellm_client import ModelConfig

    s = Settings(model="openai/x", api_base="http://127.0.0.1:9/v1", temperature=0.5, auto_run=True)
    assert s.llm == ModelConfig("openai/x", api_base="http://127.0.0.1:9/v1", temperature=0.5)
    assert s.auto_run and not s.uses_local_model
    moved = s.replace(model="openai/y", max_steps=3)
    assert dataclasses.replace(s, max_steps=3) == s.replace(max_steps=3)
    assert (moved.llm.model, moved.llm.api_base, moved.llm.temperature, moved.max_steps) == (
        "openai/y", "http://127.0.0.1:9/v1", 0.5, 3)
    assert Settings(llm=ModelConfig("a"), api_key="k").llm == ModelConfig("a", api_key="k")
    resolved = resolve({"model": "m", "max_output_tokens": 64}, env={"LMC_TEMPERATURE": "0.25"},
                       config_file=tmp_path / "none.toml")
    assert resolved.llm == ModelConfig("m", temperature=0.25, max_output_tokens=64)
    assert Settings().uses_local_model


def test_settings_refuse_unknown_fields_and_modes() -> None:
    with pytest.raises(SettingsError, match="unknown setting 'modle'"):
        Settings(modle="x")  # type: ignore[call-arg]
    with pytest.raises(SettingsError, match="unknown mode 'tool'; known: auto, tools, text"):
        Settings(mode="tool")
