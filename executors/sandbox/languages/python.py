"""Python: one persistent interpreter per sandbox; state survives between runs."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import ClassVar

from executors.sandbox.languages.base import ProcessLanguage

KERNEL = Path(__file__).with_name("kernels") / "python_kernel.py"


class Python(ProcessLanguage):
    """Stateful Python with streamed output, shown last values, figures and images."""

    name: ClassVar[str] = "python"
    aliases: ClassVar[tuple[str, ...]] = ("py", "python3")
    process_noun: ClassVar[str] = "python process"

    #: argv that starts the interpreter running user code: the agent's own Python unless a
    #: backend points it elsewhere (a task container's runtime picks the image's python3)
    interpreter: ClassVar[tuple[str, ...]] = (sys.executable,)

    def command(self, code_fd: int, ctl_fd: int) -> list[str]:
        """`python -u kernel.py CODE_FD CTL_FD`."""
        return [*self.interpreter, "-u", str(KERNEL), str(code_fd), str(ctl_fd)]

    def child_env(self) -> dict[str, str]:
        """The agent's environment with matplotlib pointed at our inline backend."""
        env = dict(os.environ)
        env["MPLBACKEND"] = "module://lmc_inline_backend"
        env.setdefault("PYTHONIOENCODING", "utf-8")
        return env
