"""Files in and out of a docker sandbox, without a shell."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from executors.docker.errors import HostPathNotFound, SandboxPathNotFound
from executors.docker.executor import DockerExecutor
from lmc.assembly import assemble
from orchestrator.computer import Computer
from tests.contract.helpers import text

pytestmark = pytest.mark.docker


@pytest.fixture
def executor() -> Iterator[DockerExecutor]:
    """A docker executor, closed after the test."""
    executor = DockerExecutor()
    yield executor
    executor.close()


def _sh(executor: DockerExecutor, code: str) -> str:
    return text(assemble(executor.run("shell", code)))


def test_upload_file_and_folder_owned_by_the_sandbox_user(executor: DockerExecutor, tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_text("a,b\n1,2\n")
    folder = tmp_path / "project"
    (folder / "pkg").mkdir(parents=True)
    (folder / "pkg" / "mod.py").write_text("VALUE = 42\n")
    assert executor.files.upload(tmp_path / "data.csv") == "/workspace/data.csv"
    assert executor.files.upload(folder, "deep/er") == "/workspace/deep/er/project"
    out = _sh(executor, "cat data.csv; stat -c '%U' data.csv deep/er/project/pkg/mod.py; echo x >> data.csv")
    assert out == "a,b\n1,2\nlmc\nlmc\n"
    code = "import sys; sys.path.insert(0, 'deep/er/project'); from pkg.mod import VALUE; print(VALUE)"
    assert text(assemble(executor.run("python", code))) == "42\n"


def test_write_read_and_download(executor: DockerExecutor, tmp_path: Path) -> None:
    executor.files.write("out/report.bin", bytes(range(256)))
    assert executor.files.read("/workspace/out/report.bin") == bytes(range(256))
    _sh(executor, "mkdir -p results/sub && echo hi > results/sub/a.txt && echo yo > results/b.txt")
    copy = executor.files.download("results", tmp_path / "got")
    assert copy == tmp_path / "got" / "results"
    assert (copy / "sub" / "a.txt").read_text() == "hi\n" and (copy / "b.txt").read_text() == "yo\n"
    executor.files.write("/tmp/outside.txt", b"tmp ok")
    assert _sh(executor, "cat /tmp/outside.txt") == "tmp ok"


def test_missing_paths_are_clear(executor: DockerExecutor, tmp_path: Path) -> None:
    with pytest.raises(HostPathNotFound, match="no such file or folder on this machine"):
        executor.files.upload(tmp_path / "nope")
    with pytest.raises(SandboxPathNotFound, match="no file or folder '/workspace/nope' in the sandbox"):
        executor.files.read("nope")
    with pytest.raises(SandboxPathNotFound, match="create it first"):
        executor.files.write("/no/such/dir/x.txt", b"")
    with pytest.raises(SandboxPathNotFound, match="not a regular file"):
        executor.files.read("/workspace")


def test_files_on_a_computer(tmp_path: Path) -> None:
    executor = DockerExecutor()
    with Computer(executor) as computer:
        executor.files.write("hello.py", b"print('hello from a file')\n")
        assert text(computer.run("shell", "python3 hello.py")) == "hello from a file\n"


def test_computer_files_reach_the_sandbox_and_local_says_why_not(executor: DockerExecutor, tmp_path: Path) -> None:
    from executors.errors import ExecutorError

    (tmp_path / "note.txt").write_text("through the Computer\n")
    computer = Computer(executor)
    assert computer.files.upload(tmp_path / "note.txt") == "/workspace/note.txt"
    assert text(computer.run("shell", "cat note.txt")) == "through the Computer\n"
    with Computer() as local, pytest.raises(ExecutorError, match="no file transfer"):
        local.files  # noqa: B018
