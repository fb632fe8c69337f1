"""The sandbox code (executors.sandbox.ship), sent to each new sandbox over its stdin at start.

Sending our code at start keeps the image independent of it: the image is
rebuilt only when its recipe changes, never for a code change. It travels as
the first thing on the agent's stdin (a 4-byte length, then a msgpack map of
path -> [mode, bytes]), which is faster than Docker's archive API (~1 ms
against ~55 ms per container). When this Python is the image's minor version,
bytecode goes along so the agent starts without compiling.
"""

from __future__ import annotations

import functools
import importlib.util
import marshal
import sys
from pathlib import Path

import msgpack

from executors.sandbox.ship import sandbox_files

#: where the packages land in the sandbox; writable by whichever uid the sandbox runs as
TARGET = "/tmp/.lmc-agent"
#: the Python of the sandbox image (Debian bookworm)
IMAGE_PYTHON = (3, 11)

#: what the container runs: unpack the code from stdin, then serve the agent on the same stdin
BOOT = f"""
import os, sys, msgpack
stdin = sys.stdin.buffer
files = msgpack.unpackb(stdin.read(int.from_bytes(stdin.read(4), "big")))
for name, (mode, data) in files.items():
    path = os.path.join({TARGET!r}, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)
sys.path.insert(0, {TARGET!r})
from executors.sandbox.agent import main
main()
"""



def _bytecode(path: Path) -> bytes:
    # unchecked-hash pycs: valid whatever the files' mtimes in the sandbox
    code = compile(path.read_bytes(), str(path), "exec", dont_inherit=True)
    source_hash = importlib.util.source_hash(path.read_bytes())
    header = importlib.util.MAGIC_NUMBER + (1).to_bytes(4, "little") + source_hash
    return header + marshal.dumps(code)


@functools.cache
def payload() -> bytes:
    """The packages as the agent's boot reads them: a length, then the msgpack map."""
    files: dict[str, list[object]] = {}
    with_bytecode = sys.version_info[:2] == IMAGE_PYTHON
    for name, path in sandbox_files():
        files[name] = [0o755 if path.suffix == ".sh" else 0o644, path.read_bytes()]
        if with_bytecode and path.suffix == ".py":
            tag = sys.implementation.cache_tag
            pyc = f"{Path(name).parent.as_posix()}/__pycache__/{path.stem}.{tag}.pyc"
            files[pyc] = [0o644, _bytecode(path)]
    body: bytes = msgpack.packb(files)
    return len(body).to_bytes(4, "big") + body
