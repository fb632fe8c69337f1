"""Tell whether a language's process group is blocked reading the stdin pipe we hold.

Linux only: `/proc/PID/syscall` names the syscall a blocked process sits in and
its first argument (the fd). A process of the group one of whose threads is
inside read() on an fd that is our stdin pipe is waiting for input nobody will
type (a thread: node reads files, /dev/stdin included, on its thread pool). Where
`/proc/PID/syscall` is unreadable, `wchan` = pipe_read on fd 0 being our pipe
serves as the (weaker) fallback.
"""

from __future__ import annotations

import os

# read, readv, pread64, preadv per architecture: the syscalls a stdin read blocks in
_READS = {
    "x86_64": {0, 17, 19, 295},
    "aarch64": {63, 65, 67, 69},
}


class StdinProbe:
    """Probe for one process group whose stdin is the pipe behind `stdin_w`."""

    def __init__(self, pgid: int, stdin_w: int) -> None:
        self.pgid = pgid
        self.reads = _READS.get(os.uname().machine, set())
        try:
            self.pipe = os.readlink(f"/proc/self/fd/{stdin_w}")
        except OSError:
            self.pipe = ""

    def _members(self) -> list[int]:
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    stat = f.read()
            except OSError:
                continue
            fields = stat[stat.rfind(b")") + 2 :].split()
            if len(fields) > 2 and int(fields[2]) == self.pgid:
                pids.append(int(entry))
        return pids

    def _reading(self, pid: int) -> bool:
        try:
            tasks = [f"/proc/{pid}/task/{tid}" for tid in os.listdir(f"/proc/{pid}/task")]
        except OSError:
            tasks = [f"/proc/{pid}"]
        return any(self._task_reading(pid, task) for task in tasks)

    def _task_reading(self, pid: int, task: str) -> bool:
        try:
            with open(f"{task}/syscall") as f:
                parts = f.read().split()
            if parts and parts[0].isdigit() and int(parts[0]) in self.reads:
                return self._is_pipe(pid, int(parts[1], 16))
            return False
        except (OSError, ValueError, IndexError):
            pass
        try:
            with open(f"{task}/wchan") as f:
                blocked = f.read().strip() in ("pipe_read", "pipe_wait")
            return blocked and self._is_pipe(pid, 0)
        except OSError:
            return False

    def _is_pipe(self, pid: int, fd: int) -> bool:
        try:
            return os.readlink(f"/proc/{pid}/fd/{fd}") == self.pipe
        except OSError:
            return False

    def waiting(self) -> bool:
        """True when some thread of the group's processes is blocked reading our stdin pipe."""
        if not self.pipe.startswith("pipe:"):
            return False
        return any(self._reading(pid) for pid in self._members())
