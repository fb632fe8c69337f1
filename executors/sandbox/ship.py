"""Exactly the code that runs inside a sandbox, as every backend ships it.

One answer for every backend: the `lmc` package (messages, codec, framing), the
`executors` package's shared core (its `__init__`, `errors`, `base`), this
`executors.sandbox` package (the agent, its protocol, the languages and their
kernels) and the task-container boot (`executors.runtime` and its `inside/`).
Docker sends these files over the agent's stdin at start, E2B uploads them, the
task-container runtime volume carries them, and the local backend runs them in
place. Host-side code (the backends, Ray, the orchestrator) never travels.
"""

from __future__ import annotations

import functools
from pathlib import Path

#: the folder that holds the `lmc` and `executors` packages
ROOT = Path(__file__).resolve().parents[2]
#: what runs inside, relative to ROOT: whole folders, and single files
FOLDERS = ("lmc", "executors/sandbox", "executors/runtime")
MODULES = ("executors/__init__.py", "executors/errors.py", "executors/base.py")
#: file kinds the agent reads: modules, kernels, and data files
SUFFIXES = frozenset({".py", ".js", ".sh", ".json", ".txt"})
#: host-side modules under the shipped folders, which never run inside
HOST_ONLY = frozenset({"executors/runtime/volume.py", "executors/sandbox/ship.py"})


@functools.cache
def sandbox_files() -> tuple[tuple[str, Path], ...]:
    """(posix path relative to ROOT, file) of everything that runs inside a sandbox, sorted."""
    found = [(name, ROOT / name) for name in MODULES]
    for folder in FOLDERS:
        for path in (ROOT / folder).rglob("*"):
            name = path.relative_to(ROOT).as_posix()
            if path.is_file() and path.suffix in SUFFIXES and "__pycache__" not in path.parts \
                    and name not in HOST_ONLY:
                found.append((name, path))
    return tuple(sorted(found))


@functools.cache
def sandbox_contents() -> tuple[tuple[str, bytes], ...]:
    """(posix path relative to ROOT, bytes) of `sandbox_files()`, read once per process."""
    return tuple((name, path.read_bytes()) for name, path in sandbox_files())
