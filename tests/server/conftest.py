"""A real `lmc serve` in a subprocess on 127.0.0.1 with two tokens, one per test module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.models.scripted_server import ScriptedServer
from tests.server.helpers import TOKENS, Served, start, stop, url_in


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One server for the module, with two tokens and small body limits."""
    home = tmp_path_factory.mktemp("serve")
    token_file = home / "tokens"
    token_file.write_text("# two users\n" + "\n".join(TOKENS) + "\n")
    token_file.chmod(0o600)
    log = home / "server.log"
    proc, lines = start(["--token-file", str(token_file), "--idle-timeout", "300",
                         "--max-body", "65536", "--max-upload", "262144"], home, log)
    url = url_in(lines)
    try:
        yield Served(url, TOKENS, log, proc, lines)
    finally:
        stop(proc)


@pytest.fixture
def model() -> Iterator[ScriptedServer]:
    """A scripted OpenAI-compatible model server on 127.0.0.1."""
    with ScriptedServer() as server:
        yield server


@pytest.fixture(scope="session")
def bench_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bench folder with two runs: a real one (oracle passes, null fails) and a copy where oracle errored."""
    from tests.server.bench_runs import errored_copy, real_run

    root = tmp_path_factory.mktemp("bench")
    errored_copy(real_run(root / "runs" / "first"), root / "runs" / "second")
    return root


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory, bench_dir: Path) -> Iterator[Served]:
    """A server for the console tests: two tokens, the bench folder above."""
    home = tmp_path_factory.mktemp("console")
    token_file = home / "tokens"
    token_file.write_text("\n".join(TOKENS) + "\n")
    token_file.chmod(0o600)
    log = home / "server.log"
    proc, lines = start(["--token-file", str(token_file), "--bench-dir", str(bench_dir)], home, log)
    try:
        yield Served(url_in(lines), TOKENS, log, proc, lines)
    finally:
        stop(proc)
