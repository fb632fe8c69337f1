"""A user-registered language through the entry-point group, and the `lmc run` CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from executors.local import LocalConfig, LocalExecutor
from lmc.codec import decode_chunk
from lmc.framing import FrameDecoder
from orchestrator.computer import Computer

ROOT = Path(__file__).resolve().parents[2]

PLUGIN = '''
import sys
from executors.sandbox.languages.base import ProcessLanguage

class Upper(ProcessLanguage):
    """A toy language: a python child that echoes each line upper-cased."""
    name = "upper"
    aliases = ("up",)
    process_noun = "upper process"

    def command(self, code_fd, ctl_fd):
        return [sys.executable, "-u", "-c", KERNEL, str(code_fd), str(ctl_fd)]

KERNEL = """
import os, sys
code_fd, ctl_fd = int(sys.argv[1]), int(sys.argv[2])
buf = b''
while chunk := os.read(code_fd, 4096):
    buf += chunk
    while b'\\\\0' in buf:
        cell, buf = buf.split(b'\\\\0', 1)
        print(cell.decode().upper())
        os.write(ctl_fd, b'{"done": 0}\\\\n')
"""
'''


def _install_plugin(tmp_path: Path) -> Path:
    """A real distribution on a path: a module plus dist-info with an entry point."""
    (tmp_path / "lmc_upper.py").write_text(PLUGIN)
    info = tmp_path / "lmc_upper-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: lmc-upper\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[lmc.languages]\nupper = lmc_upper:Upper\n")
    return tmp_path


def test_a_plugin_language_registers_through_entry_points(tmp_path: Path) -> None:
    path = _install_plugin(tmp_path)
    executor = LocalExecutor(LocalConfig(env={"PYTHONPATH": str(path)}))
    with Computer(executor) as computer:
        assert "upper" in computer.languages
        out = computer.run("up", "hello plugins")
        assert [m.content for m in out] == ["HELLO PLUGINS\n"]
        assert computer.run("python", "print(1)")[0].content == "1\n"  # built-ins still there


def test_a_broken_plugin_does_not_take_the_others_down(tmp_path: Path) -> None:
    path = _install_plugin(tmp_path)
    (path / "lmc_upper-0.1.dist-info" / "entry_points.txt").write_text("[lmc.languages]\nupper = nowhere:Nope\n")
    with Computer(LocalExecutor(LocalConfig(env={"PYTHONPATH": str(path)}))) as computer:
        assert "upper" not in computer.languages and "python" in computer.languages


def _lmc(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "orchestrator", *args],
        input=stdin.encode() if stdin is not None else None,
        capture_output=True,
        cwd=ROOT,
        timeout=60,
    )


def test_cli_prints_like_a_terminal() -> None:
    result = _lmc("run", "python", "print('Hello World!')")
    assert result.returncode == 0 and result.stdout == b"Hello World!\n"
    piped = _lmc("run", "shell", "-", stdin="echo from stdin; exit 4")
    assert piped.stdout.startswith(b"from stdin\n") and piped.returncode == 4


def test_cli_unknown_language_is_one_line_exit_2() -> None:
    result = _lmc("run", "pyhton", "print(1)")
    assert result.returncode == 2
    assert result.stderr.decode().strip() == "lmc: error: unknown language 'pyhton'; known: javascript, python, shell"


def test_cli_streams_json_and_msgpack_chunks() -> None:
    lines = _lmc("run", "--format", "json", "python", "print('a')").stdout.decode().splitlines()
    chunks = [json.loads(line) for line in lines]
    assert chunks[0]["start"] and chunks[-1]["end"]
    assert "".join(c.get("content", "") for c in chunks) == "a\n"
    raw = _lmc("run", "--format", "msgpack", "python", "print('b')").stdout
    decoded = [decode_chunk(p) for p in FrameDecoder().feed(raw)]
    assert "".join(c.content for c in decoded) == "b\n"


def test_cli_timeout_reports_the_error_and_fails() -> None:
    result = _lmc("run", "--timeout", "0.5", "python", "print('x', flush=True)\nimport time\ntime.sleep(30)")
    assert result.returncode == 1 and result.stdout.startswith(b"x\n")
    assert b"[timeout]" in result.stderr


def test_entry_point_scan_agrees_with_importlib_metadata(tmp_path: Path) -> None:
    from importlib.metadata import entry_points as reference

    from executors.sandbox.languages import GROUP, entry_points

    path = _install_plugin(tmp_path)
    sys.path.insert(0, str(path))
    try:
        expected = {ep.name: ep.value for ep in reference(group=GROUP)}
        assert entry_points() == expected
        assert expected["upper"] == "lmc_upper:Upper"
    finally:
        sys.path.remove(str(path))
