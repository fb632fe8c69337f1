"""PID 1 of a task container: starts lmc's agent, reaps every orphan, ignores every signal, never exits.

    init.py [--agent USER [--keep-home]]

Being our own init, rather than the image's entrypoint or Docker's, is what lets
everything else in the container be killed (kill -1) before verification while
the container lives on. It runs as root, so the agent's user cannot trace or
hijack it to outlive that kill. SIGCHLD stays blocked and is waited for with
sigtimedwait, so no child's exit can slip between a reap and the wait.

With --agent, init forks lmc's agent at boot: a fork of this already running
Python costs no interpreter start, and the agent's imports overlap the host's
work. The child becomes what `docker exec --user USER` would start: the same
uid, gid and supplementary groups (resolved from the container's own
/etc/passwd and /etc/group as Docker and runc do), HOME from /etc/passwd unless
the container's environment sets it (--keep-home), its own session, the
container's environment and working directory, and only stdin, stdout and
stderr open: the container's, which the host attached before the start. Init
then lets go of stdin and stdout, and when the agent exits it writes EXIT_NOTICE
on stderr, since Docker ends the attach stream only with the container.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import NoReturn

#: on the container's stderr, then the agent's status (128 + N for signal N) and a newline
EXIT_NOTICE = b"\x00lmc-init: agent exited with status "
#: the agent's status when its user or group is not in the container's files; its stderr's last line says which
NO_ACCOUNT = 126
#: how that last line starts
NO_ACCOUNT_LINE = "lmc-init: cannot start the agent: "
#: where our packages are: init.py is agent/executors/runtime/inside/init.py
AGENT_PATH = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
#: what the agent's command line shows (ps), in place of init's
AGENT_TITLE = b"lmc agent: from executors.runtime.inside.agent import main"


class UnknownAccount(Exception):
    """The agent's user or group is not in the container's files (docker exec would refuse it too)."""


def _table(path: str, fields: int) -> list[list[str]]:
    """The entries of /etc/passwd or /etc/group with at least `fields` fields, numbers parsed."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    rows: list[list[str]] = []
    for line in lines:
        row = line.strip().split(":")
        if len(row) >= fields and row[2].isdigit() and (fields < 4 or row[3].isdigit() or row[3] == ""):
            rows.append(row)
    return rows


def resolve_user(spec: str) -> tuple[int, int, list[int], str]:
    """(uid, gid, groups, home) of a "user[:group]" as Docker resolves it for `docker exec --user`.

    A number is always an id, a name must exist. With no group, the user's passwd
    gid and the groups listing its name; the primary gid always leads. HOME is the
    home of the first passwd entry with that uid (runc looks it up by number), else "/".
    """
    user, _, group = spec.partition(":")
    passwd = _table("/etc/passwd", 7)
    name: str | None
    match = next((r for r in passwd if (r[2] == str(int(user)) if user.isdigit() else r[0] == user)), None)
    if match is not None:
        name, uid, gid = match[0], int(match[2]), int(match[3] or 0)
    elif user.isdigit():
        name, uid, gid = None, int(user), 0
    else:
        raise UnknownAccount(f"unable to find user {user}: no matching entries in passwd file")
    extra: list[int] = []
    if group or name is not None:
        groups = _table("/etc/group", 3)
        if group:
            found = next((r for r in groups if (r[2] == str(int(group)) if group.isdigit() else r[0] == group)), None)
            if found is not None:
                gid = int(found[2])
            elif group.isdigit():
                gid = int(group)
            else:
                raise UnknownAccount(f"unable to find group {group}: no matching entries in group file")
        else:
            extra = [int(r[2]) for r in groups if name in (r[3].split(",") if len(r) > 3 else [])]
    home = next((r[5] for r in passwd if int(r[2]) == uid), "/")
    return uid, gid, list(dict.fromkeys([gid, *extra])), home


def _set_title(title: bytes) -> None:
    """Show `title` as this process's command line: written over argv's own memory, which it must fit."""
    with open("/proc/self/stat", "rb") as f:
        fields = f.read().rsplit(b")", 1)[1].split()
    start, end = int(fields[45]), int(fields[46])  # arg_start, arg_end: fields 48 and 49 of stat
    text = title[: end - start - 1]
    with open(f"/proc/{os.getpid()}/mem", "r+b", buffering=0) as mem:  # /proc/self/mem is denied by AppArmor
        mem.seek(start)
        mem.write(text + b"\0" * (end - start - len(text)))


def _be(spec: str, keep_home: bool) -> None:
    """Become the agent's user, as docker exec makes its process."""
    uid, gid, groups, home = resolve_user(spec)
    try:
        _set_title(AGENT_TITLE)
    except (OSError, ValueError, IndexError):
        pass  # cosmetic: ps shows init's command line instead
    os.setsid()
    os.setgroups(groups)
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if uid != 0:
        # changing uid without exec makes a process undumpable: its /proc files root's, its fds unlistable
        # by its own user; an exec'd agent is dumpable
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE
    if not keep_home:
        os.environ["HOME"] = home


def _agent(spec: str, keep_home: bool) -> NoReturn:
    """The forked child: become the user, then serve the agent on the container's stdio; never returns."""
    code = 1
    try:
        _be(spec, keep_home)
        sys.argv[:] = ["-c"]
        sys.path.insert(0, AGENT_PATH)
        from executors.runtime.inside.agent import main

        main()
        code = 0
    except UnknownAccount as exc:
        sys.stderr.write(f"{NO_ACCOUNT_LINE}{exc}\n")
        code = NO_ACCOUNT
    except SystemExit as exc:  # as the interpreter would exit on it
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:
            sys.stderr.write(f"{exc.code}\n")
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code)


def _status(status: int) -> int:
    """A wait status as Docker reports an exit: the code, or 128 + the signal."""
    return os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)


def main(argv: list[str]) -> NoReturn:
    agent: int | None = None
    if argv[:1] == ["--agent"] and len(argv) >= 2:
        agent = os.fork()
        if agent == 0:
            _agent(argv[1], "--keep-home" in argv[2:])
    # the container's stdin and stdout are the agent's channel: hold neither
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    if agent is None:
        os.dup2(null, 2)
    os.close(null)
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
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            if pid == agent:
                agent = None
                try:
                    os.write(2, b"\n" + EXIT_NOTICE + b"%d\n" % _status(status))
                except OSError:
                    pass
                null = os.open(os.devnull, os.O_WRONLY)
                os.dup2(null, 2)  # and let go of stderr too
                os.close(null)
        signal.sigtimedwait({signal.SIGCHLD}, 60)


if __name__ == "__main__":
    main(sys.argv[1:])
