"""The self-contained, read-only lmc runtime mounted at /.lmc in a task's own container.

A task image needs nothing of ours, not even Python or a shell: the runtime
brings Debian's python3.11 (standard library trimmed), bash, every shared library
they need and the loader that runs them, plus our `lmc` and `executors` packages
and msgpack under /.lmc/agent. It is collected once from the lmc sandbox image
into a Docker named volume (see executors.runtime.volume).

Bundled programs run through the bundled loader,

    /.lmc/lib/ld.so --library-path /.lmc/lib /.lmc/bin/python3 ...

so they work on glibc, musl and busybox-only images alike, and nothing leaks into
the task's processes: no LD_LIBRARY_PATH, no PYTHONHOME (Python finds its
standard library from /.lmc/bin by its landmark search, /.lmc/lib/python3.11/os.py).
"""

from __future__ import annotations

#: where the runtime is mounted in a task container
MOUNT = "/.lmc"
LIB = f"{MOUNT}/lib"
LOADER = f"{LIB}/ld.so"
PYTHON = f"{MOUNT}/bin/python3"
BASH = f"{MOUNT}/bin/bash"
#: our packages and msgpack, with bytecode
AGENT_PATH = f"{MOUNT}/agent"
INSIDE = f"{AGENT_PATH}/executors/runtime/inside"

__all__ = ["AGENT_PATH", "BASH", "MOUNT", "PYTHON", "bash_argv", "ensure_runtime", "python_argv", "run_argv"]


def bundled(program: str, *args: str) -> list[str]:
    """argv running a bundled program through the bundled loader."""
    return [LOADER, "--library-path", LIB, program, *args]


def python_argv(*args: str) -> list[str]:
    """argv of the bundled Python, isolated (-I -S: no PYTHON* variable, no site-packages), then args."""
    return bundled(PYTHON, "-I", "-S", *args)


def bash_argv(*args: str) -> list[str]:
    """argv of the bundled bash, then args."""
    return bundled(BASH, *args)


def run_argv(argv: list[str], timeout: float | None = None) -> list[str]:
    """argv running `argv` in its own session under the runtime's wrapper, killed after `timeout` s."""
    return python_argv(f"{INSIDE}/run.py", "-" if timeout is None else repr(float(timeout)), *argv)


def ensure_runtime(api: object) -> str:
    """The runtime's volume name, collecting it first if this daemon lacks it (see volume.ensure_runtime)."""
    from executors.runtime.volume import ensure_runtime as ensure

    return ensure(api)
