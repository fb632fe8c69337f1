"""The Computer: what a model (or a person, or a script) drives.

    computer = Computer()                       # local sandbox
    computer.run("python", "print('Hello World!')")
    for chunk in computer.run("shell", "ls", stream=True): ...

It needs no model and no Ray. The sandbox is any executor backend by name
("local", "docker", "e2b") or an `Executor` instance. A sandbox with a desktop of
its own (`DockerConfig(desktop=DesktopConfig())`) gives the Computer its devices:
computer.display / mouse / keyboard / clipboard / windows drive that desktop, from
host code and from code in the sandbox alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal, overload

from devices.facade import DEVICES
from executors import Executor, RunLimits, UnknownLanguage, create
from executors.base import SupportsFiles
from executors.errors import ExecutorError, InvalidCode, no_screen
from lmc.assembly import assemble
from lmc.messages import Chunk, Message


class Computer:
    """A sandboxed computer: run code in stateful languages, stream LMC chunks back."""

    def __init__(
        self,
        sandbox: str | Executor = "local",
        *,
        config: Any = None,
        limits: RunLimits | None = None,
        devices: Any = None,
    ) -> None:
        self.executor = sandbox if isinstance(sandbox, Executor) else create(sandbox, config)
        self.limits = limits or RunLimits()
        #: the screen (devices.Devices, or anything with .display/.mouse/.keyboard/.clipboard
        #: and call(path, args, kwargs)); code in the sandbox reaches it as computer.*
        self.devices = devices
        self._screen: Any = None  # Devices of the sandbox's own desktop, made on first use
        if devices is not None:
            self.executor.call_handler = devices.call
        elif getattr(self.executor, "has_screen", False):
            self.executor.call_handler = self._screen_call
        self._names: dict[str, str] | None = None

    # -- languages -----------------------------------------------------------------
    def _name_table(self) -> dict[str, str]:
        if self._names is None:
            table: dict[str, str] = {}
            for info in self.executor.languages():
                table[info.name] = info.name
                for alias in info.aliases:
                    table.setdefault(alias, info.name)
            self._names = table
        return self._names

    @property
    def languages(self) -> list[str]:
        """Canonical names of the languages this computer runs, sorted."""
        return sorted(set(self._name_table().values()))

    def resolve_language(self, name: str) -> str:
        """The canonical name for a language or alias ("py" -> "python"); UnknownLanguage if none."""
        table = self._name_table()
        key = name.strip().lower()
        if key not in table:
            raise UnknownLanguage(name, self.languages)
        return table[key]

    # -- running -------------------------------------------------------------------
    @overload
    def run(self, language: str, code: str, *, stream: Literal[False] = False, timeout: float | None = None,
            max_output: int | None = None, input_timeout: float | None = None) -> list[Message]: ...

    @overload
    def run(self, language: str, code: str, *, stream: Literal[True], timeout: float | None = None,
            max_output: int | None = None, input_timeout: float | None = None) -> Iterator[Chunk]: ...

    def run(
        self,
        language: str,
        code: str,
        *,
        stream: bool = False,
        timeout: float | None = None,
        max_output: int | None = None,
        input_timeout: float | None = None,
    ) -> list[Message] | Iterator[Chunk]:
        """Run code; the output messages, or (stream=True) the chunks as they come.

        Unknown languages (UnknownLanguage) are refused before anything runs, and so is
        code that cannot be run as given (a NUL character: InvalidCode), with or without
        stream=True. Both are the caller's mistake, never a broken sandbox (SandboxError).
        """
        name = self.resolve_language(language)
        if "\0" in code:
            raise InvalidCode("code contains a NUL character; remove it (source code cannot hold NUL)")
        limits = RunLimits(
            timeout=self.limits.timeout if timeout is None else timeout,
            max_output=self.limits.max_output if max_output is None else max_output,
            input_timeout=self.limits.input_timeout if input_timeout is None else input_timeout,
        )
        chunks = self.executor.run(name, code, limits)
        return chunks if stream else assemble(chunks)

    @property
    def files(self) -> Any:
        """Copy files in and out of the sandbox (upload, download, read, write), where the backend can."""
        if not isinstance(self.executor, SupportsFiles):
            raise ExecutorError(
                f"the {self.executor.backend} sandbox has no file transfer; it shares this machine's files "
                "(local) or use the docker backend"
            )
        return self.executor.files

    def __getattr__(self, name: str) -> Any:
        if name in DEVICES:
            devices = self.__dict__.get("devices")
            if devices is None:
                if not getattr(self.__dict__.get("executor"), "has_screen", False):
                    raise ExecutorError(no_screen(name))
                devices = self._screen_devices()
            return getattr(devices, name)
        raise AttributeError(name)

    def _screen_devices(self) -> Any:
        """The devices of the sandbox's own desktop; new ones when a lost sandbox came back on another."""
        env = self.executor.screen()  # type: ignore[attr-defined]
        if self._screen is None or self._screen.display.display != env["DISPLAY"]:
            from devices.facade import Devices

            if self._screen is not None:
                self._screen.close()
            self._screen = Devices(env["DISPLAY"], xauthority=env.get("XAUTHORITY"))
        return self._screen

    def _screen_call(self, path: str, args: list[Any], kwargs: dict[str, Any]) -> object:
        """A computer.* call from code in the sandbox, answered by the devices of its desktop."""
        return self._screen_devices().call(path, args, kwargs)

    def stop(self) -> None:
        """Interrupt the running code (safe from another thread or a signal handler)."""
        self.executor.stop()

    def close(self) -> None:
        """Free the sandbox (and its desktop's devices)."""
        screen, self._screen = self._screen, None
        if screen is not None:
            screen.close()
        self.executor.close()

    def __enter__(self) -> Computer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
