"""A user-registered language runs inside the E2B sandbox: its package is uploaded and registered there."""

from __future__ import annotations

from pathlib import Path

import pytest

from executors.e2b.errors import E2BError
from lmc.assembly import assemble
from tests.e2b.conftest import MakeExecutor

PLUGIN = '''
from lmc.messages import Chunk


class Upper:
    """A toy language: prints its code in capitals."""

    name = "upper"
    aliases = ("shout",)

    def run(self, code, limits):
        yield Chunk("computer", "console", code.upper() + "\\n", "output", start=True, end=True)

    def stop(self):
        pass

    def close(self):
        pass
'''


def test_user_language_is_uploaded_and_discovered(make: MakeExecutor, tmp_path: Path) -> None:
    package = tmp_path / "lmc_upper"
    package.mkdir()
    (package / "__init__.py").write_text(PLUGIN)
    executor = make(upload=(str(package),), plugins={"upper": "lmc_upper:Upper"})
    languages = {info.name: info.aliases for info in executor.languages()}
    assert languages["upper"] == ("shout",) and "python" in languages
    messages = assemble(executor.run("upper", "hello sandbox"))
    assert [m.content for m in messages] == ["HELLO SANDBOX\n"]


def test_missing_upload_path_is_a_clear_error(make: MakeExecutor, tmp_path: Path) -> None:
    executor = make(upload=(str(tmp_path / "nowhere"),), plugins={"x": "nowhere:X"})
    messages = assemble(executor.run("python", "print(1)"))
    ((kind, text),) = [(m.format, m.content) for m in messages if m.type == "error"]
    assert kind == "sandbox" and "nowhere" in text and "does not exist" in text
    with pytest.raises(E2BError):
        executor.connect()
