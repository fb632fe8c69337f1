"""The `lmc` and `executors` packages as a tar, copied into each sandbox at /opt/lmc.

Copying our code in at container creation keeps the image independent of it:
the image is rebuilt only when its recipe changes, never for a code change.
The tar is built once per process, in memory.
"""

from __future__ import annotations

import functools
import io
import tarfile
from pathlib import Path

#: the folder that holds the `lmc` and `executors` packages
ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("lmc", "executors")
#: where the packages land in the sandbox, put on the agent's sys.path
TARGET = "/opt/lmc"
SUFFIXES = {".py", ".js", ".sh", ".json", ".txt"}


def _files(root: Path) -> list[Path]:
    found = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*")):
            if path.is_file() and path.suffix in SUFFIXES and "__pycache__" not in path.parts:
                found.append(path)
    return found


@functools.cache
def payload() -> bytes:
    """A tar of the packages, owned by root and readable by everyone."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for path in _files(ROOT):
            info = tar.gettarinfo(str(path), arcname=str(path.relative_to(ROOT)))
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            info.mode = 0o755 if path.suffix == ".sh" else 0o644
            with path.open("rb") as f:
                tar.addfile(info, f)
    return buf.getvalue()
