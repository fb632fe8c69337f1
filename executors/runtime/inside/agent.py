"""Boot lmc's agent in a task container: pick each language's interpreter, then serve.

Runs on the bundled Python, isolated. The task's own tools come first, as the
task's author expects them: python runs on the image's python3 when it is 3.8 or
newer, else on the bundled one; shell runs the image's bash, else the bundled
one; javascript needs the image's node (its absence fails with a clear message).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

from executors.runtime import BASH, PYTHON, bundled
from executors.sandbox.languages.python import Python
from executors.sandbox.languages.shell import Shell

MIN_PYTHON = (3, 8)


def python_version(path: str) -> tuple[int, int] | None:
    """(major, minor) of a Python executable: from its file name when it says, else by asking it."""
    match = re.fullmatch(r"python(\d+)\.(\d+)", os.path.basename(os.path.realpath(path)))
    if match:
        return int(match.group(1)), int(match.group(2))
    try:
        out = subprocess.run([path, "-c", "import sys; print(*sys.version_info[:2])"], capture_output=True,
                             text=True, timeout=30, stdin=subprocess.DEVNULL).stdout.split()
        return int(out[0]), int(out[1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def choose_interpreters() -> None:
    """Point the python and shell languages at the image's programs, or at the bundled ones."""
    python = shutil.which("python3")
    version = python_version(python) if python else None
    if python and version is not None and version >= MIN_PYTHON:
        Python.interpreter = (python,)
    else:
        Python.interpreter = tuple(bundled(PYTHON, "-E", "-s"))
    if shutil.which("bash") is None:
        Shell.interpreter = tuple(bundled(BASH))


def main() -> None:
    """Choose the interpreters, then serve the agent protocol on stdin/stdout."""
    choose_interpreters()
    from executors.sandbox.agent import main as serve

    serve([])
