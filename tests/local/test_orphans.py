"""A local agent killed outright (SIGKILL, as Ray's teardown kills its workers) takes its code with it."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time
from pathlib import Path

import pytest

from executors.sandbox.languages.base import _setpriv, dies_with_agent
from orchestrator.computer import Computer

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signals are Linux's")


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return None


def _running(pid: int) -> bool:
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"


@pytest.mark.parametrize("language, code", [
    ("python", "import os, time\nprint(os.getpid(), flush=True)\ntime.sleep(600)"),
    ("shell", "echo $$; sleep 600"),
])
def test_the_code_dies_when_its_agent_is_killed(language: str, code: str) -> None:
    computer = Computer("local")
    try:
        chunks = computer.run(language, code, stream=True)
        printed = ""
        for chunk in chunks:
            printed += chunk.content if isinstance(chunk.content, str) else ""
            if printed.endswith("\n") and printed.strip().isdigit():
                break
        kernel = int(printed.strip())
        fields = _stat(kernel)
        assert fields is not None
        agent = int(fields[1])  # the kernel's parent: the agent
        os.kill(agent, signal.SIGKILL)
        deadline = time.monotonic() + 30  # Linux sends the signal at once; the bound is for a loaded machine
        while _running(kernel):
            assert time.monotonic() < deadline, f"the {language} process {kernel} outlived its agent {agent}"
            time.sleep(0.05)
        chunks.close()
    finally:
        computer.close()


def test_setpriv_is_asked_once_per_process_and_busybox_s_gets_no_option(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """util-linux's setpriv wraps the code; BusyBox's (no --pdeathsig) is left out; --help runs once."""
    busybox, util_linux = Path("/bin/busybox"), shutil.which("setpriv")
    if not busybox.is_file() or util_linux is None:
        pytest.skip("needs /bin/busybox (apt-get install busybox-static) and util-linux's setpriv")
    found: dict[str, list[str]] = {}
    try:
        for name, binary in (("busybox", str(busybox)), ("util-linux", util_linux)):
            folder = tmp_path / name
            folder.mkdir()
            (folder / "setpriv").symlink_to(binary)  # BusyBox runs the applet its link is named after
            monkeypatch.setenv("PATH", str(folder))
            _setpriv.cache_clear()
            found[name] = dies_with_agent(["code"])
            assert all(dies_with_agent(["code"]) == found[name] for _ in range(3))
            assert _setpriv.cache_info().misses == 1  # the --help probe ran once for four agent starts
    finally:
        monkeypatch.undo()
        _setpriv.cache_clear()  # the next caller looks at the real PATH again
    assert found["busybox"] == ["code"]
    assert found["util-linux"] == [str(tmp_path / "util-linux" / "setpriv"), "--pdeathsig", "KILL", "--", "code"]
