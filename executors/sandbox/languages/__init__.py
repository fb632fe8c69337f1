"""Languages: one module each, found through the `lmc.languages` entry-point group.

A user's package adds a language by declaring, in its pyproject.toml:

    [project.entry-points."lmc.languages"]
    ruby = "my_package.ruby:Ruby"

where `Ruby` follows `executors.sandbox.languages.base.Language` (usually by subclassing
`ProcessLanguage`). The built-ins are registered the same way; inside a sandbox
where the distribution's metadata is absent, the built-in table below stands in.
"""

from __future__ import annotations

import importlib
import os
import sys

from executors.errors import LanguageLoadError
from executors.sandbox.languages.base import Language, ProcessLanguage, RunLimits

GROUP = "lmc.languages"
BUILTINS = {
    "python": "executors.sandbox.languages.python:Python",
    "shell": "executors.sandbox.languages.shell:Shell",
    "javascript": "executors.sandbox.languages.javascript:JavaScript",
}

__all__ = ["BUILTINS", "GROUP", "Language", "ProcessLanguage", "RunLimits", "discover", "load"]


def _group_lines(text: str) -> list[str]:
    """The `name = value` lines of our group's section in an entry_points.txt."""
    lines, inside = [], False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("["):
            inside = line == f"[{GROUP}]"
        elif inside and "=" in line and not line.startswith(("#", ";")):
            lines.append(line)
    return lines


def entry_points() -> dict[str, str]:
    """Our group's entry points from every distribution on sys.path (first on the path wins).

    Reads the dist-info files directly: importing importlib.metadata costs about a
    third of the agent's start-up, and the agent's start is on every sandbox's
    critical path. tests/local checks this against importlib.metadata.
    """
    found: dict[str, str] = {}
    for folder in sys.path:
        try:
            entries = sorted(os.scandir(folder or "."), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            if not entry.name.endswith((".dist-info", ".egg-info")):
                continue
            try:
                with open(os.path.join(entry.path, "entry_points.txt"), encoding="utf-8") as f:
                    text = f.read()
            except OSError:
                continue
            for line in _group_lines(text) if f"[{GROUP}]" in text else []:
                name, _, value = (part.strip() for part in line.partition("="))
                found.setdefault(name, value)
    return found


def discover() -> dict[str, str]:
    """Language name -> "module:Class" for every registered language."""
    return {**BUILTINS, **entry_points()}


def _import(module_name: str) -> object:
    """Import a plugin module; under `python -S` (the agent), run site first if it needs it.

    Editable installs and some packages are found only through site's .pth files,
    which the agent skips at start-up for speed.
    """
    try:
        return importlib.import_module(module_name)
    except ImportError:
        if "site" in sys.modules:
            raise
        import site

        site.main()
        return importlib.import_module(module_name)


def load(target: str) -> type[Language]:
    """Import "module:Class"; LanguageLoadError says which plugin broke and why."""
    module_name, _, attr = target.partition(":")
    try:
        cls = getattr(_import(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise LanguageLoadError(
            f"language plugin {target!r} failed to load ({exc}); fix or uninstall the package "
            f"that registers it in the {GROUP!r} entry-point group"
        ) from exc
    for field in ("name", "aliases", "run", "stop"):
        if not hasattr(cls, field):
            raise LanguageLoadError(
                f"language plugin {target!r} has no {field!r}; see executors.sandbox.languages.base")
    return cls  # type: ignore[no-any-return]
