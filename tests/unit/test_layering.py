"""Imports flow one way: lmc <- executors, devices <- orchestrator <- benchmarks; nothing imports tests.

An import is anything that makes one module load another at run time, so the check sees:
`import x` and `from x import y` (also under TYPE_CHECKING: a cycle for the type checker is a
cycle), `importlib.import_module("x.y")` / `__import__("x")` / `find_spec("x")` with a literal or
an f-string's literal prefix, any string that is exactly the name of one of our modules (a
"module:attr" target such as executors.BACKENDS, or `python -m module`), and the entry points
pyproject.toml declares.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ALLOWED = {
    "lmc": set(),
    "executors": {"lmc"},
    "devices": {"lmc"},
    "orchestrator": {"lmc", "executors", "devices"},
    "benchmarks": {"lmc", "executors", "devices", "orchestrator"},
}
#: what the product may never import, by any of the means above
FORBIDDEN = {"tests"}
#: the package that loads each entry-point group (None: the installer, for console scripts)
GROUP_OWNERS: dict[str, str | None] = {
    "console_scripts": None,
    "lmc.languages": "executors",
    "lmc.commands": "orchestrator",
}
DYNAMIC_IMPORTS = {"import_module", "__import__", "find_spec"}
MODULE_NAME = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+(:[A-Za-z_][\w.]*)?")


def _is_module(dotted: str) -> bool:
    """Whether `dotted` ("a.b.c", optionally ":attr") names a module or package in this tree."""
    path = ROOT.joinpath(*dotted.partition(":")[0].split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _literal_prefix(node: ast.expr) -> str | None:
    """A string literal, or the literal start of an f-string (f"executors.{name}" -> "executors.")."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr) and node.values:
        first = node.values[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            return first.value
    return None


def references(source: str, filename: str = "<string>") -> set[str]:
    """Top-level names of the packages `source` imports, statically or by name at run time."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            prefix = _literal_prefix(node.args[0]) if name in DYNAMIC_IMPORTS else None
            if prefix:
                found.add(re.split(r"[.:]", prefix)[0])
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if MODULE_NAME.fullmatch(node.value) and _is_module(node.value):
                found.add(node.value.split(".")[0])
    return found


def _product_files(package: str) -> list[Path]:
    # benchmark tasks hold data for the model to work on (some of it broken on purpose)
    return [p for p in sorted((ROOT / package).rglob("*.py")) if "tasks" not in p.relative_to(ROOT).parts]


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_lower_layers(package: str) -> None:
    ours = set(ALLOWED) | FORBIDDEN
    bad = []
    for path in _product_files(package):
        for name in sorted(references(path.read_text(), str(path)) & ours - {package} - ALLOWED[package]):
            bad.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not bad, "layering broken (lmc <- executors, devices <- orchestrator <- benchmarks; never tests):\n" \
        + "\n".join(bad)


def _entry_points() -> list[tuple[str, str, str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    groups = {"console_scripts": project.get("scripts", {}), **project.get("entry-points", {})}
    return [(group, name, target) for group, entries in groups.items() for name, target in entries.items()]


def _defines(module_file: Path, attr: str) -> bool:
    tree = ast.parse(module_file.read_text())
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and node.name == attr:
            return True
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        if any(isinstance(t, ast.Name) and t.id == attr for t in targets):
            return True
        if isinstance(node, ast.ImportFrom) and any((a.asname or a.name) == attr for a in node.names):
            return True
    return False


@pytest.mark.parametrize(("group", "name", "target"), _entry_points())
def test_entry_points_plug_in_from_the_loaders_layer_or_above(group: str, name: str, target: str) -> None:
    assert group in GROUP_OWNERS, f"entry-point group {group!r} has no owner; add the package that loads it"
    module, _, attr = target.partition(":")
    assert _is_module(module), f"{group}:{name} -> {target}: no module {module} in this tree"
    path = ROOT.joinpath(*module.split("."))
    module_file = path.with_suffix(".py") if path.with_suffix(".py").is_file() else path / "__init__.py"
    assert _defines(module_file, attr.split(".")[0]), f"{group}:{name} -> {target}: {module} defines no {attr}"
    package, owner = module.split(".")[0], GROUP_OWNERS[group]
    assert package in ALLOWED, f"{group}:{name} -> {target}: not a product package"
    if owner is None:
        return
    # a plugin may import the code that loads it, never the reverse: its layer is the owner's or above
    assert package == owner or owner in ALLOWED[package], f"{group}:{name} -> {target}: {package} is below {owner}"
    readers = [p for p in _product_files(owner) if f'"{group}"' in p.read_text()]
    assert readers, f"no module of {owner} reads the group {group!r}: GROUP_OWNERS is wrong"


def test_built_in_languages_run_inside_the_sandbox() -> None:
    # languages are loaded by the in-sandbox agent, so the built-ins must be in the shipped package
    targets = [t for group, _, t in _entry_points() if group == "lmc.languages"]
    assert targets and all(t.startswith("executors.sandbox.") for t in targets), targets


@pytest.mark.parametrize(("source", "expected"), [
    ("import orchestrator.computer", {"orchestrator"}),
    ("from tests.support import bases", {"tests"}),
    ("import importlib\nimportlib.import_module('orchestrator.computer')", {"importlib", "orchestrator"}),
    ("from importlib import import_module\nimport_module(f'benchmarks.{x}')", {"importlib", "benchmarks"}),
    ("__import__('tests')", {"tests"}),
    ("TARGETS = {'x': 'orchestrator.computer:Computer'}", {"orchestrator"}),
    ("cmd = ['python', '-m', 'tests.support.chat_main']", {"tests"}),
    ("LABEL = 'lmc.sandbox'", set()),  # a Docker label, not a module of ours
    ("'''Docs naming orchestrator.computer in a sentence.'''", set()),
])
def test_references_see_every_way_of_importing(source: str, expected: set[str]) -> None:
    assert references(source) == expected


def test_importing_the_packages_stays_light() -> None:
    # the desktop extra's numpy, OpenCV and OCR models too: without it `import devices` must still work
    heavy = "('ray', 'litellm', 'docker', 'e2b', 'mss', 'Xlib', 'numpy', 'cv2', 'rapidocr', 'onnxruntime')"
    imports = "import lmc, executors, orchestrator, orchestrator.cli, devices, sys"
    code = f"{imports}; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


def test_test_file_names_are_unique() -> None:
    # test folders are not packages, so pytest imports test modules by basename: two files of
    # one name in different folders break collection of the whole suite
    names = [p.name for p in (ROOT / "tests").rglob("test_*.py")]
    assert sorted({n for n in names if names.count(n) > 1}) == []
