"""E2BConfig: how to create (or find) an E2B sandbox and run the agent in it.

Light on purpose (no e2b SDK): settings, the CLI and the fleet build one
without loading the backend; `E2BConfig(...).create()` makes the executor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Self

from executors.config import ExecutorConfig
from executors.e2b.errors import E2BConfigError


@dataclass(frozen=True)
class E2BConfig(ExecutorConfig):
    """How to create (or find) the E2B sandbox and run the agent in it. `create()` makes an E2BExecutor."""

    backend = "e2b"
    executor = "executors.e2b.executor:E2BExecutor"
    extra = "e2b"

    template: str = "code-interpreter-v1"  #: sandbox template; needs python3 (this one adds Jupyter, node)
    timeout: int = 300  #: seconds an unused sandbox lives; extended while in use
    metadata: Mapping[str, str] = field(default_factory=dict)  #: labels stored with the sandbox
    envs: Mapping[str, str] = field(default_factory=dict)  #: environment variables of the sandbox
    internet: bool = True  #: whether code in the sandbox may reach the internet
    api_key: str | None = None  #: E2B API key; the E2B_API_KEY environment variable when None
    domain: str | None = None  #: E2B domain for self-hosted E2B; E2B_DOMAIN / e2b.app when None
    api_url: str | None = None  #: control-plane URL override (self-hosting, the E2B emulator)
    sandbox_url: str | None = None  #: sandbox URL override (self-hosting, the E2B emulator)
    sandbox_id: str | None = None  #: reconnect to this live sandbox instead of creating one
    python: str = "python3"  #: Python inside the sandbox that runs the agent
    workdir: str = ".lmc"  #: where the agent is uploaded, relative to the sandbox user's home
    interpreter_languages: tuple[str, ...] = ()  #: languages run by E2B's code interpreter, e.g. ("r",)
    plugins: Mapping[str, str] = field(default_factory=dict)  #: extra languages: name -> "module:Class"
    upload: tuple[str, ...] = ()  #: local package folders or modules copied next to the agent (plugins)
    retries: int = 3  #: retries after a network failure while creating or connecting
    backoff: float = 0.5  #: seconds before the first retry; doubled on each further one
    request_timeout: float = 30.0  #: seconds for each request to E2B

    def __post_init__(self) -> None:
        checks = [
            ("template", bool(self.template), "a template name or id, e.g. 'code-interpreter-v1'", self.template),
            ("timeout", 1 <= self.timeout <= 86_400, "seconds from 1 to 86400 (E2B's 24 h limit)", self.timeout),
            ("retries", self.retries >= 0, "0 or more", self.retries),
            ("backoff", self.backoff >= 0, "0 or more seconds", self.backoff),
            ("request_timeout", self.request_timeout > 0, "more than 0 seconds", self.request_timeout),
            ("workdir", bool(self.workdir) and not self.workdir.startswith("/") and ".." not in self.workdir,
             "a folder relative to the sandbox home, e.g. '.lmc'", self.workdir),
        ]
        for name, target in self.plugins.items():
            checks.append((f"plugins[{name!r}]", target.count(":") == 1 and all(target.split(":")),
                           "'module:Class', e.g. 'my_pkg.ruby:Ruby'", target))
        for name, ok, expected, got in checks:
            if not ok:
                raise E2BConfigError(name, expected, got)

    def with_env(self, env: Mapping[str, str]) -> Self:
        """This config with `env` added to the sandbox's environment variables."""
        return replace(self, envs={**self.envs, **env})
