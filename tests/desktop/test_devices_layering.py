"""devices depends only on lmc, and importing it loads no heavy library."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

DEVICES = Path(__file__).resolve().parents[2] / "devices"
_ABOVE = ("orchestrator", "executors", "benchmarks")
_HEAVY = ("pyautogui", "mss", "rapidocr", "ray", "cv2", "PIL", "numpy", "Xlib")


def test_devices_imports_nothing_above_it() -> None:
    offenders = []
    for path in DEVICES.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [
                f"{path.name}: {n}" for n in names if n.split(".")[0] in ("orchestrator", "executors", "benchmarks")
            ]
    assert offenders == []


def test_importing_devices_loads_no_heavy_library() -> None:
    modules = [p.stem for p in DEVICES.glob("*.py") if p.stem != "__init__"]
    code = (
        "import sys\n"
        f"for m in {modules!r}: __import__('devices.' + m)\n"
        "import devices.ocr.rapid\n"
        f"heavy = [m for m in {_HEAVY!r} if m in sys.modules]\n"
        "print(heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=DEVICES.parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
