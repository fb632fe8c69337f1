"""JavaScript: one persistent node process per sandbox; globals persist."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import ClassVar

from executors.sandbox.languages.base import ProcessLanguage

KERNEL = Path(__file__).with_name("kernels") / "node_kernel.js"


class JavaScript(ProcessLanguage):
    """Node.js, with the value of the last expression shown and promises awaited."""

    name: ClassVar[str] = "javascript"
    aliases: ClassVar[tuple[str, ...]] = ("js", "node", "nodejs")
    process_noun: ClassVar[str] = "node process"
    #: SIGINT does break a blocked read (EINTR), but leaves V8's interrupt pending, and it then
    #: kills the next cell; so code stuck on stdin costs the node process instead
    interrupts_reads: ClassVar[bool] = False
    #: argv that starts node; None for the `node` (or `nodejs`) on PATH
    interpreter: ClassVar[tuple[str, ...] | None] = None

    def command(self, code_fd: int, ctl_fd: int) -> list[str]:
        """`node kernel.js CODE_FD CTL_FD`."""
        node = self.interpreter or (shutil.which("node") or shutil.which("nodejs") or "node",)
        return [*node, str(KERNEL), str(code_fd), str(ctl_fd)]
