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
from typing import Any, get_type_hints

from orchestrator.errors import SettingsError

MODES = ("auto", "tools", "text")
SANDBOXES = ("local", "docker", "e2b")


def _data_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("lmc"))


def config_path() -> Path:
    """Where the config file lives: `<user config dir>/lmc/config.toml`."""
    import platformdirs

    return Path(platformdirs.user_config_dir("lmc")) / "config.toml"


@dataclass(frozen=True)
class Settings:
    """Everything a conversation needs to know, resolved once and passed down."""

    model: str | None = None
    """litellm model name (e.g. gpt-4o, ollama/llama3) or a .gguf path; None uses the embedded model."""
    api_base: str | None = None
    """Base URL of the model's API (for local or proxy servers)."""
    api_key: str | None = None
    """API key; when None litellm reads the provider's own environment variable."""
    local: bool = False
    """Use the embedded local model even if `model` names a hosted one."""
    mode: str = "auto"
    """How the model asks for code: tools (function calling), text (markdown blocks) or auto."""
    vision: bool | None = None
    """Send images to the model; None asks litellm whether the model supports vision."""
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
    context_window: int | None = None
    """The model's window in tokens; None asks litellm (and falls back to 8192)."""
    temperature: float = 0.0
    """Sampling temperature."""
    max_retries: int = 4
    """Retries of rate-limited or transient model errors."""
    retry_delay: float = 0.5
    """First backoff delay in seconds; it doubles on each retry."""
    request_timeout: float = 600.0
    """Seconds to wait for the model's response."""
    ray: bool = False
    """Host the conversation in a Ray orchestrator actor."""
    ray_address: str | None = None
    """Ray cluster address; setting it implies `ray`."""
    data_dir: Path = field(default_factory=_data_dir)
    """Where conversations are saved."""
    system_message: str | None = None
    """Extra instructions appended to the built-in system message."""

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise SettingsError(f"unknown mode {self.mode!r}; known: {', '.join(MODES)}")
        if self.sandbox not in SANDBOXES:
            raise SettingsError(f"unknown sandbox {self.sandbox!r}; known: {', '.join(SANDBOXES)}")
        if self.max_steps < 1:
            raise SettingsError(f"max_steps must be at least 1, got {self.max_steps}; try --max-steps 20")

    @property
    def uses_ray(self) -> bool:
        """Whether the conversation runs on Ray."""
        return self.ray or self.ray_address is not None

    @property
    def uses_local_model(self) -> bool:
        """Whether the embedded model (or a GGUF file) serves this conversation."""
        return self.local or self.model is None or self.model.endswith(".gguf")


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
    hints = {f.name: get_type_hints(Settings)[f.name] for f in dataclasses.fields(Settings)}
    merged = _from_file(config_file if config_file is not None else config_path(), hints)
    merged.update(_from_env(os.environ if env is None else env, hints))
    for name, value in (arguments or {}).items():
        if name not in hints:
            raise SettingsError(f"unknown setting {name!r}; known: {', '.join(sorted(hints))}")
        if value is not None:
            merged[name] = value
    return Settings(**merged)
