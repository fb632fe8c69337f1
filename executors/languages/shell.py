"""Shell: one persistent bash per sandbox; cd, export and functions persist."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import ClassVar

from executors.languages.base import ProcessLanguage

KERNEL = Path(__file__).with_name("kernels") / "shell_kernel.sh"


class Shell(ProcessLanguage):
    """Bash, with the exit status of every run reported."""

    name: ClassVar[str] = "shell"
    aliases: ClassVar[tuple[str, ...]] = ("bash", "sh", "zsh")
    process_noun: ClassVar[str] = "shell"
    reports_exit_code: ClassVar[bool] = True

    def __init__(self) -> None:
        super().__init__()
        self._fds = (-1, -1)

    def command(self, code_fd: int, ctl_fd: int) -> list[str]:
        """`bash --noprofile --norc kernel.sh`, told its pipes through the environment."""
        self._fds = (code_fd, ctl_fd)
        return [shutil.which("bash") or "/bin/bash", "--noprofile", "--norc", str(KERNEL)]

    def child_env(self) -> dict[str, str]:
        """The agent's environment plus the pipe numbers the kernel reads (known once command() ran)."""
        env = dict(os.environ)
        env["LMC_CODE_FD"], env["LMC_CTL_FD"] = map(str, self._fds)
        env.setdefault("TERM", "dumb")
        return env
