"""Run one command of an exec in its own session; kill that session when its time is up.

    run.py TIMEOUT|- COMMAND [ARG...]

Exits with the command's status (128 + N when signal N ended it), 124 when it
ran past TIMEOUT seconds and its session was killed, 127 when it cannot be found,
126 when it cannot be run. The command gets this process's environment, user
and working directory unchanged, and default signal dispositions.
"""

from __future__ import annotations

import errno
import os
import signal
import sys

TIMED_OUT = 124


def main(argv: list[str]) -> None:
    timeout = None if argv[0] == "-" else float(argv[0])
    command = argv[1:]
    pid = os.fork()
    if pid == 0:
        os.setsid()
        for sig in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT):  # Python's own choices, not the command's
            signal.signal(sig, signal.SIG_DFL)
        try:
            os.execvp(command[0], command)
        except OSError as exc:
            sys.stderr.write(f"{command[0]}: {exc.strerror}\n")
            sys.stderr.flush()
            os._exit(127 if exc.errno == errno.ENOENT else 126)
    expired: list[bool] = []

    def expire(signum: int, frame: object) -> None:
        expired.append(True)
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    if timeout is not None:
        signal.signal(signal.SIGALRM, expire)
        signal.setitimer(signal.ITIMER_REAL, max(timeout, 0.001))
    _, status = os.waitpid(pid, 0)
    signal.setitimer(signal.ITIMER_REAL, 0)
    if expired:
        sys.exit(TIMED_OUT)
    sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))


if __name__ == "__main__":
    main(sys.argv[1:])
