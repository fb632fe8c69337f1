"""PID 1 of a task container: reaps every orphan, ignores every signal, never exits.

Being our own init, rather than the image's entrypoint or Docker's, is what lets
everything else in the container be killed (kill -1) before verification while
the container lives on. SIGCHLD stays blocked and is waited for with sigtimedwait,
so no child's exit can slip between a reap and the wait.
"""

import os
import signal


def main():
    for sig in signal.valid_signals():
        if sig in (signal.SIGKILL, signal.SIGSTOP, signal.SIGCHLD):
            continue
        try:
            signal.signal(sig, signal.SIG_IGN)
        except (OSError, ValueError):
            pass  # signals the C library reserves
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
    while True:
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
        signal.sigtimedwait({signal.SIGCHLD}, 60)


if __name__ == "__main__":
    main()
