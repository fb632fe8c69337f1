"""Shell: one persistent bash per sandbox; cd, export and functions persist."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import ClassVar

from executors.sandbox.languages.base import ProcessLanguage

KERNEL = Path(__file__).with_name("kernels") / "shell_kernel.sh"


class Shell(ProcessLanguage):
    """Bash, with the exit status of every run reported."""

    name: ClassVar[str] = "shell"
    aliases: ClassVar[tuple[str, ...]] = ("bash", "sh", "zsh")
    process_noun: ClassVar[str] = "shell"
    reports_exit_code: ClassVar[bool] = True
    #: argv that starts bash; None for the `bash` on PATH (a task container's runtime may bring its own)
    interpreter: ClassVar[tuple[str, ...] | None] = None

    def command(self, code_fd: int, ctl_fd: int) -> list[str]:
        """`bash --noprofile --norc kernel.sh CODE_FD CTL_FD`."""
        bash = self.interpreter or (shutil.which("bash") or "/bin/bash",)
        return [*bash, "--noprofile", "--norc", str(KERNEL), str(code_fd), str(ctl_fd)]

    def child_env(self) -> dict[str, str]:
        """The agent's environment, with a dumb terminal unless one is set."""
        env = dict(os.environ)
        env.setdefault("TERM", "dumb")
        return env
