"""Languages: one module each, found through the `lmc.languages` entry-point group.

A user's package adds a language by declaring, in its pyproject.toml:

    [project.entry-points."lmc.languages"]
    ruby = "my_package.ruby:Ruby"

where `Ruby` follows `executors.languages.base.Language` (usually by subclassing
`ProcessLanguage`). The built-ins are registered the same way; inside a sandbox
where the distribution's metadata is absent, the built-in table below stands in.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from executors.errors import LanguageLoadError
from executors.languages.base import Language, ProcessLanguage, RunLimits

GROUP = "lmc.languages"
BUILTINS = {
    "python": "executors.languages.python:Python",
    "shell": "executors.languages.shell:Shell",
    "javascript": "executors.languages.javascript:JavaScript",
}

__all__ = ["BUILTINS", "GROUP", "Language", "ProcessLanguage", "RunLimits", "discover", "load"]


def discover() -> dict[str, str]:
    """Language name -> "module:Class" for every registered language."""
    found = dict(BUILTINS)
    for ep in entry_points(group=GROUP):
        found[ep.name] = ep.value
    return found


def load(target: str) -> type[Language]:
    """Import "module:Class"; LanguageLoadError says which plugin broke and why."""
    module_name, _, attr = target.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise LanguageLoadError(
            f"language plugin {target!r} failed to load ({exc}); fix or uninstall the package "
            f"that registers it in the {GROUP!r} entry-point group"
        ) from exc
    for field in ("name", "aliases", "run", "stop"):
        if not hasattr(cls, field):
            raise LanguageLoadError(f"language plugin {target!r} has no {field!r}; see executors.languages.base")
    return cls  # type: ignore[no-any-return]
