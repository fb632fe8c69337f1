"""Imports flow one way: lmc <- executors, devices <- orchestrator <- benchmarks."""

from __future__ import annotations

import ast
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


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_lower_layers(package: str) -> None:
    ours = set(ALLOWED)
    bad = []
    for path in sorted((ROOT / package).rglob("*.py")):
        if "tasks" in path.relative_to(ROOT).parts:
            continue  # benchmark tasks hold data for the model to work on (some broken on purpose)
        for name in _imports(path) & ours - {package} - ALLOWED[package]:
            bad.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not bad, "layering broken:\n" + "\n".join(bad)


def test_importing_the_packages_stays_light() -> None:
    import subprocess
    import sys

    heavy = "('ray', 'litellm', 'docker', 'e2b', 'mss', 'pyautogui')"
    imports = "import lmc, executors, orchestrator, orchestrator.cli, sys"
    code = f"{imports}; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


def test_test_file_names_are_unique() -> None:
    # test folders are not packages, so pytest imports test modules by basename: two files of
    # one name in different folders break collection of the whole suite
    names = [p.name for p in (ROOT / "tests").rglob("test_*.py")]
    assert sorted({n for n in names if names.count(n) > 1}) == []
