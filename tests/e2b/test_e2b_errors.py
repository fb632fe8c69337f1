"""Bad keys, refusals and network failures become clear errors of ours; transient failures are retried."""

from __future__ import annotations

import logging
import socket
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from executors.e2b.emulator import E2BServer
from executors.e2b.errors import (
    E2BAuthError,
    E2BConfigError,
    E2BError,
    E2BKeyMissing,
    E2BNetworkError,
    E2BQuotaExceeded,
    E2BRateLimited,
)
from executors.e2b.executor import E2BConfig, E2BExecutor
from executors.errors import SandboxUnavailable
from lmc.assembly import assemble
from tests.e2b.conftest import MakeExecutor


def _errors(executor: E2BExecutor, code: str = "print(1)") -> list[tuple[str | None, str]]:
    return [(m.format, m.content) for m in assemble(executor.run("python", code)) if m.type == "error"]


def test_no_key_names_the_variable_and_where_to_get_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("E2B_API_KEY", raising=False)
    with pytest.raises(E2BKeyMissing) as info:
        E2BExecutor(E2BConfig())
    assert "E2B_API_KEY" in str(info.value) and "https://e2b.dev/dashboard" in str(info.value)
    assert isinstance(info.value, SandboxUnavailable) and isinstance(info.value, ValueError)


def test_key_from_the_environment_is_enough(monkeypatch: pytest.MonkeyPatch, server: E2BServer) -> None:
    monkeypatch.setenv("E2B_API_KEY", server.api_key)
    with E2BExecutor(E2BConfig(api_url=server.url, sandbox_url=server.url)) as executor:
        assert [m.content for m in assemble(executor.run("shell", "echo from-env"))][0] == "from-env\n"


def test_rejected_key_raises_auth_error(make: MakeExecutor) -> None:
    executor = make(api_key="e2b_wrong")
    with pytest.raises(E2BAuthError, match="rejected the API key; check E2B_API_KEY"):
        list(executor.run("python", "print(1)"))
    assert isinstance(E2BAuthError("x"), PermissionError)


@pytest.mark.parametrize(
    "status,message,error,advice",
    [
        (429, "You have reached the maximum number of concurrent sandboxes", E2BRateLimited, "wait and retry"),
        (403, "Team is blocked", E2BQuotaExceeded, "cannot start sandboxes"),
        (404, "template 'nope' not found", E2BError, "template 'nope' not found"),
    ],
)
def test_refusals_map_to_clear_errors(make: MakeExecutor, server: E2BServer, status: int, message: str,
                                      error: type[Exception], advice: str) -> None:
    server.fail_next("POST", "/v2/sandboxes", status, message, times=10)  # more than the SDK's own retries
    executor = make()
    with pytest.raises(error) as info:
        executor.sandbox()
    assert message in str(info.value) and advice in str(info.value)
    # in a run, the refusal is a sandbox error chunk, not an exception
    ((kind, text),) = _errors(executor)
    assert kind == "sandbox" and message in text


def test_transient_busy_service_is_retried(make: MakeExecutor, server: E2BServer,
                                           caplog: pytest.LogCaptureFixture) -> None:
    server.fail_next("POST", "/v2/sandboxes", 503, "service busy", times=5)  # SDK retries 3, then us
    executor = make(retries=3, backoff=0.01)
    with caplog.at_level(logging.WARNING, logger="executors.e2b.executor"):
        assert [m.content for m in assemble(executor.run("shell", "echo up"))][0] == "up\n"
    assert any("retry" in r.getMessage() for r in caplog.records)
    assert server.cloud.requests.count(("POST", "/v2/sandboxes")) == 6


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_e2b_gives_up_after_retries(make: MakeExecutor) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    executor = make(api_url=url, sandbox_url=url, retries=1, backoff=0.01)
    with pytest.raises(E2BNetworkError, match="could not be reached") as info:
        executor.sandbox()
    assert isinstance(info.value, ConnectionError)


def test_network_that_comes_back_is_retried_with_backoff(make: MakeExecutor,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    backing = E2BServer().start()
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    servers = []

    def listen_late() -> None:  # until now the port refuses connections
        servers.append(make_server("127.0.0.1", port, backing.app, threaded=True))
        servers[0].serve_forever()

    threading.Timer(4.0, listen_late).start()  # longer than the SDK's own connect retries
    try:
        executor = make(api_url=url, sandbox_url=url, api_key=backing.api_key, retries=8, backoff=0.2)
        with caplog.at_level(logging.WARNING, logger="executors.e2b.executor"):
            assert executor.sandbox().sandbox_id in backing.live()
        assert any("creating an E2B sandbox" in r.getMessage() for r in caplog.records)
        executor.close()
    finally:
        for late in servers:
            late.shutdown()
            late.server_close()
        backing.stop()


@pytest.mark.parametrize(
    "field,value,expected",
    [
        ("timeout", 0, "E2BConfig.timeout must be seconds from 1 to 86400"),
        ("template", "", "E2BConfig.template must be a template name or id"),
        ("workdir", "/opt/lmc", "E2BConfig.workdir must be a folder relative to the sandbox home"),
        ("plugins", {"ruby": "my_pkg.ruby"}, "E2BConfig.plugins['ruby'] must be 'module:Class'"),
        ("retries", -1, "E2BConfig.retries must be 0 or more, got -1"),
    ],
)
def test_bad_config_says_what_was_expected(field: str, value: object, expected: str) -> None:
    with pytest.raises(E2BConfigError) as info:
        E2BConfig(**{field: value})  # type: ignore[arg-type]
    assert str(info.value).startswith(expected) and isinstance(info.value, ValueError)


def test_a_fleet_with_a_rejected_e2b_key_is_a_config_failure_tried_once(tmp_path: Path) -> None:
    # A rejected key is the same on every try: it was retried as infrastructure before.
    from orchestrator.fleet.fleet import Fleet, FleetConfig, SessionSpec
    from orchestrator.fleet.sandbox import SandboxConfig
    from orchestrator.models.scripted_server import ScriptedServer, text
    from orchestrator.settings import Settings
    from tests.support.e2b_backend import config, server

    with ScriptedServer(default=text("done")) as model:
        settings = Settings(model="openai/scripted", api_base=model.url, api_key="x", mode="tools",
                            data_dir=tmp_path, retry_delay=0.01, max_retries=1)
        sandboxes = SandboxConfig("e2b", e2b=config(server(), api_key="e2b_wrong"))
        [result] = list(Fleet(FleetConfig(sandbox=sandboxes, max_retries=2)).run(
            [SessionSpec("badkey", "hi", settings)]))
    assert (result.failure, result.attempts, result.retried) == ("config", 1, ()), result
    assert "rejected the API key" in result.detail
