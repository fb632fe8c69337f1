"""What gets uploaded into an E2B sandbox so the in-sandbox agent can run there.

The agent needs only python3, msgpack and the sandbox code (executors.sandbox.ship).
msgpack goes as its pure-Python fallback (its C extension may not match the
sandbox's Python). A user's language plugins travel as their package folders
plus a small `*.dist-info` whose entry_points.txt registers them in the
`lmc.languages` group, so the agent discovers them the normal way.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path

from executors.sandbox.languages import GROUP
from executors.sandbox.ship import sandbox_contents

SKIP_SUFFIXES = (".pyc", ".so", ".pyd")
PLUGIN_DIST = "lmc_sandbox_plugins-0.dist-info"


def _tree(folder: Path, prefix: str) -> list[tuple[str, bytes]]:
    files = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in SKIP_SUFFIXES:
            files.append((f"{prefix}/{path.relative_to(folder).as_posix()}", path.read_bytes()))
    return files


@functools.cache
def _core() -> tuple[tuple[str, bytes], ...]:
    import msgpack

    files = list(sandbox_contents())
    files += _tree(Path(msgpack.__file__).parent, "msgpack")
    return tuple(files)


def _plugin_files(uploads: tuple[str, ...], plugins: Mapping[str, str]) -> list[tuple[str, bytes]]:
    files: list[tuple[str, bytes]] = []
    for upload in uploads:
        path = Path(upload).resolve()
        if not path.exists():
            from executors.e2b.errors import E2BError

            raise E2BError(f"E2BConfig.upload names {upload!r}, which does not exist; give a package folder "
                           "or a module file to copy next to the agent")
        files += _tree(path, path.name) if path.is_dir() else [(path.name, path.read_bytes())]
    if plugins:
        lines = "".join(f"{name} = {target}\n" for name, target in sorted(plugins.items()))
        metadata = b"Metadata-Version: 2.1\nName: lmc-sandbox-plugins\nVersion: 0\n"
        files.append((f"{PLUGIN_DIST}/METADATA", metadata))
        files.append((f"{PLUGIN_DIST}/entry_points.txt", f"[{GROUP}]\n{lines}".encode()))
    return files


def bundle(
    uploads: tuple[str, ...] = (), plugins: Mapping[str, str] | None = None,
) -> list[tuple[str, bytes]]:
    """(relative path, content) of every file the agent needs, plus the user's plugins."""
    return list(_core()) + _plugin_files(uploads, plugins or {})
