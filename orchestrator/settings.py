"""Settings, resolved once: arguments > LMC_* environment > config file > defaults.

The config file is TOML at `<user config dir>/lmc/config.toml` with the same
names as the fields below (`model = "gpt-4o"`, `auto_run = true`). Environment
variables are the field names upper-cased behind `LMC_` (`LMC_MODEL`,
`LMC_MAX_STEPS`); `RAY_ADDRESS` also sets `ray_address`. Nothing deeper in the
code reads the environment: this object is passed down.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict, Unpack, get_type_hints

from executors.backends import backend_names
from orchestrator.errors import SettingsError
from orchestrator.models.litellm_client import MODES, ModelConfig

__all__ = ["MODES", "SANDBOXES", "ModelConfig", "Settings", "config_path", "resolve"]

SANDBOXES = backend_names()


def _data_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("lmc"))


def config_path() -> Path:
    """Where the config file lives: `<user config dir>/lmc/config.toml`."""
    import platformdirs

    return Path(platformdirs.user_config_dir("lmc")) / "config.toml"


class ModelFields(TypedDict, total=False):
    """The ModelConfig fields Settings(...) also takes flat (model=, api_base=...), as the CLI flags do."""

    model: str | None
    api_base: str | None
    api_key: str | None
    mode: str
    vision: bool | None
    context_window: int | None
    temperature: float
    max_output_tokens: int | None
    max_retries: int
    retry_delay: float
    request_timeout: float
    stream_idle_timeout: float


class SettingsFields(ModelFields, total=False):
    """Every keyword Settings(...) takes."""

    llm: ModelConfig
    local: bool
    auto_run: bool
    sandbox: str
    max_steps: int
    max_tokens: int | None
    max_cost: float | None
    ray: bool
    ray_address: str | None
    data_dir: Path
    system_message: str | None


MODEL_FIELDS = tuple(f.name for f in dataclasses.fields(ModelConfig))


@dataclass(frozen=True, init=False)
class Settings:
    """Everything a conversation needs to know, resolved once and passed down.

    Settings(model="gpt-4o", api_base=..., auto_run=True) works as before: the
    model's fields go into `llm`, the one ModelConfig; dataclasses.replace too.
    """

    llm: ModelConfig = field(default_factory=ModelConfig)
    """The model and how to reach it (name, API base and key, mode, vision, window, retries...)."""
    local: bool = False
    """Use the embedded local model even if `llm.model` names a hosted one."""
    auto_run: bool = False
    """Run code without asking for approval first."""
    sandbox: str = "local"
    """Where code runs: local, docker or e2b."""
    max_steps: int = 20
    """Most model calls in one chat() before it stops."""
    max_tokens: int | None = None
    """Token budget for one chat() (prompt + completion, as the API reports); None is unlimited."""
    max_cost: float | None = None
    """Cost budget in USD for one chat(), from litellm's cost accounting; None is unlimited."""
    ray: bool = False
    """Host the conversation in a Ray orchestrator actor."""
    ray_address: str | None = None
    """Ray cluster address; setting it implies `ray`."""
    data_dir: Path = field(default_factory=_data_dir)
    """Where conversations are saved."""
    system_message: str | None = None
    """Extra instructions appended to the built-in system message."""

    def __init__(self, **values: Unpack[SettingsFields]) -> None:
        given: dict[str, Any] = dict(values)
        flat = {name: given.pop(name) for name in MODEL_FIELDS if name in given}
        llm = given.pop("llm", None) or ModelConfig()
        object.__setattr__(self, "llm", dataclasses.replace(llm, **flat) if flat else llm)
        for f in dataclasses.fields(self):
            if f.name == "llm":
                continue
            if f.name in given:
                value = given.pop(f.name)
            else:
                value = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
            object.__setattr__(self, f.name, value)
        if given:
            raise SettingsError(f"unknown setting {sorted(given)[0]!r}; known: {', '.join(sorted(_hints()))}")
        self.__post_init__()

    def __post_init__(self) -> None:
        if self.sandbox not in SANDBOXES:
            raise SettingsError(f"unknown sandbox {self.sandbox!r}; known: {', '.join(SANDBOXES)}")
        if self.max_steps < 1:
            raise SettingsError(f"max_steps must be at least 1, got {self.max_steps}; try --max-steps 20")

    def replace(self, **changes: Unpack[SettingsFields]) -> Settings:
        """A copy with some fields changed, the model's given flat (model=, api_base=...) or as llm=."""
        current: dict[str, Any] = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return Settings(**{**current, **changes})

    @property
    def uses_ray(self) -> bool:
        """Whether the conversation runs on Ray."""
        return self.ray or self.ray_address is not None

    @property
    def uses_local_model(self) -> bool:
        """Whether the embedded model (or a GGUF file) serves this conversation."""
        model = self.llm.model
        return self.local or model is None or model.endswith(".gguf")


def _hints() -> dict[str, Any]:
    """The flat setting names (config file keys, LMC_* variables, arguments) and their types."""
    hints = {f.name: get_type_hints(ModelConfig)[f.name] for f in dataclasses.fields(ModelConfig)}
    hints.update({f.name: get_type_hints(Settings)[f.name] for f in dataclasses.fields(Settings)
                  if f.name != "llm"})
    return hints


def _convert(name: str, kind: Any, raw: Any, source: str) -> Any:
    """One raw value (text from env, TOML value) converted to the field's type."""
    text = kind.__name__ if isinstance(kind, type) else str(kind).replace("pathlib.", "")
    try:
        if raw is None:
            return None
        if "bool" in text and "int" not in text:
            if isinstance(raw, bool):
                return raw
            lowered = str(raw).strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if "int" in text:
            return int(raw)
        if "float" in text:
            return float(raw)
        if "Path" in text:
            return Path(str(raw)).expanduser()
        return str(raw)
    except ValueError:
        raise SettingsError(f"{source}: {name} must be {text}, got {raw!r}") from None


def _from_env(env: Mapping[str, str], hints: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, kind in hints.items():
        key = "LMC_" + name.upper()
        if key in env and env[key] != "":
            out[name] = _convert(name, kind, env[key], f"environment {key}")
    if env.get("RAY_ADDRESS") and "ray_address" not in out:
        out["ray_address"] = env["RAY_ADDRESS"]
    return out


def _from_file(path: Path, hints: dict[str, Any]) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"cannot read config file {path}: {exc}; fix or delete it") from exc
    unknown = sorted(set(data) - set(hints))
    if unknown:
        raise SettingsError(
            f"config file {path}: unknown settings {', '.join(unknown)}; known: {', '.join(sorted(hints))}"
        )
    return {k: _convert(k, hints[k], v, f"config file {path}") for k, v in data.items()}


def resolve(
    arguments: Mapping[str, Any] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    config_file: Path | None = None,
) -> Settings:
    """Settings from arguments (None values ignored) over LMC_* env over the config file over defaults."""
    hints = _hints()
    merged = _from_file(config_file if config_file is not None else config_path(), hints)
    merged.update(_from_env(os.environ if env is None else env, hints))
    for name, value in (arguments or {}).items():
        if name not in hints:
            raise SettingsError(f"unknown setting {name!r}; known: {', '.join(sorted(hints))}")
        if value is not None:
            merged[name] = value
    return Settings(**merged)
