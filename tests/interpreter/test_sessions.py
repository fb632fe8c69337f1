"""Many sessions in one host: in-process (asyncio) and in a Ray orchestrator actor."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lmc.messages import Chunk
from orchestrator.errors import SessionBusy, SessionNotFound, SettingsError
from orchestrator.models.scripted_server import ScriptedServer, http_error, text, tool_call
from orchestrator.models.testing import FunctionModel, ScriptedModel
from orchestrator.ray.sessions import RemoteSession, SessionHost, SessionParts, connect
from orchestrator.session.interpreter import Interpreter

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ray_session() -> Iterator[Any]:
    """Ray started once for these tests, workers able to import the project."""
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    import ray

    started = not ray.is_initialized()
    if started:
        ray.init(
            address="local",  # a fresh cluster even when the machine runs one (`ray start`)
            num_cpus=2,
            include_dashboard=False,
            log_to_driver=False,
            runtime_env={"env_vars": {"PYTHONPATH": str(ROOT), "LITELLM_LOCAL_MODEL_COST_MAP": "True",
                                      "LMC_ALLOW_MODEL_REQUESTS": "0"}},
        )
    yield ray
    if started:
        ray.shutdown()


async def _collect(host: SessionHost, session: str, message: str, done: list[str]) -> list[Chunk]:
    chunks = [c async for c in host.chat(session, message)]
    done.append(session)
    return chunks


def test_a_slow_session_does_not_stall_its_neighbour(make_settings: Any) -> None:
    slow = ScriptedModel([text("slow answer", delay=3.0)])
    quick = ScriptedModel([tool_call("python", "print('quick')"), text("quick answer")])
    host = SessionHost(make_settings())

    async def main() -> list[str]:
        a = await host.open(parts=SessionParts(model=slow))
        b = await host.open(parts=SessionParts(model=quick))
        done: list[str] = []
        await asyncio.gather(_collect(host, a, "slow", done), _collect(host, b, "quick", done))
        assert [m.content for m in await host.messages(b)][-2] == "quick answer"
        return [("slow" if s == a else "quick") for s in done]

    assert asyncio.run(main()) == ["quick", "slow"]
    assert slow.served == 1 and quick.served == 2


def test_unknown_session_says_which_exist(make_settings: Any) -> None:
    host = SessionHost(make_settings())
    with pytest.raises(SessionNotFound, match="no session 'nope' here"):
        asyncio.run(host.decide("nope", True))


@pytest.mark.ray
def test_chat_on_ray_streams_asks_and_resumes(
    ray_session: Any, server: ScriptedServer, make_settings: Any, tmp_path: Path
) -> None:
    server.add(tool_call("shell", "echo from-the-actor"), text("done"), text("resumed fine"))
    settings = make_settings(auto_run=False, ray=True)
    interpreter = Interpreter(settings)
    types = []
    for chunk in interpreter.chat("run it", stream=True):
        types.append(chunk.type)
        if chunk.type == "confirmation":
            interpreter.approve()
    outputs = "".join(m.content for m in interpreter.messages if m.type == "console" and m.format == "output")
    assert "confirmation" in types and "from-the-actor" in outputs
    assert interpreter.messages[-1].content == "complete"
    conversation = interpreter.id
    interpreter.close()
    # The actor saved every chunk: a new client resumes the conversation, in-process this time.
    resumed = Interpreter.load(conversation, make_settings())
    assert [m.type for m in resumed.messages] == [m.type for m in interpreter.messages]
    resumed.chat("again")
    assert resumed.messages[-2].content == "resumed fine"


@pytest.mark.ray
def test_one_actor_hosts_concurrent_sessions(ray_session: Any, make_settings: Any) -> None:
    with ScriptedServer([text("slow", delay=3.0)]) as slow, ScriptedServer([text("fast")]) as fast:
        actor = connect(make_settings(ray=True))
        a = RemoteSession.open(actor, None, make_settings(api_base=slow.url))
        b = RemoteSession.open(actor, None, make_settings(api_base=fast.url))
        finished: list[str] = []

        def run(session: RemoteSession, name: str) -> None:
            list(session.chat(None, decide=lambda _code: False))
            finished.append(name)

        threads = [
            threading.Thread(target=run, args=(a, "slow")),
            threading.Thread(target=run, args=(b, "fast")),
        ]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert finished == ["fast", "slow"], f"after {time.monotonic() - started:.1f}s: {finished}"
        assert [m.content for m in b.messages][-2] == "fast"
        a.close()
        b.close()


def test_a_client_that_leaves_mid_confirmation_frees_the_session(make_settings: Any, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    with ScriptedServer([tool_call("shell", f"touch {marker}"), text("later")]) as srv:
        host = SessionHost(make_settings(api_base=srv.url, auto_run=False))

        async def main() -> list[str]:
            session = await host.open()
            stream = host.chat(session, "do it")
            async for chunk in stream:
                if chunk.type == "confirmation":
                    break
            await stream.aclose()  # the client is gone while the code waits for approval
            for _ in range(100):
                try:
                    return [str(c.content) async for c in host.chat(session, "again")]
                except SessionBusy:
                    await asyncio.sleep(0.1)
            raise AssertionError("the session stayed busy after its client left")

        again = asyncio.run(main())
    assert "later" in "".join(again) and not marker.exists()


SCENARIOS = {
    "multi-step": (
        [tool_call("python", "x = 20"), tool_call("python", "print(x + 1)"), text("21")],
        {},
        "complete",
    ),
    "declined": ([tool_call("shell", "echo never"), text("fine")], {"auto_run": False}, "complete"),
    "budget": (
        [tool_call("python", "print(1)", usage=(5000, 10)), text("unreached")],
        {"max_tokens": 100},
        "budget",
    ),
    "repaired": ([text('{"language": "python", "code": "print(20 + 1)"}'), text("21")], {}, "complete"),
    "http-500": ([http_error(500), tool_call("python", "print(21)"), text("21")], {}, "complete"),
}


@pytest.mark.ray
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_loop_scenarios_through_ray(
    ray_session: Any, server: ScriptedServer, make_settings: Any, name: str
) -> None:
    script, overrides, status = SCENARIOS[name]
    server.add(*script)
    interpreter = Interpreter(make_settings(ray=True, **overrides))
    for chunk in interpreter.chat("go", stream=True):
        if chunk.type == "confirmation":
            interpreter.decline()
    outputs = "".join(m.content for m in interpreter.messages if m.type == "console" and m.format == "output")
    assert interpreter.messages[-1].content == status
    assert ("21" in outputs) == (name not in ("declined", "budget"))
    assert "never" not in outputs
    if name == "declined":
        assert "declined" in server.requests[-1]["messages"][-1]["content"]
    interpreter.close()


#: A model server that is not there: a session that ignored the given model would fail against it.
NOWHERE = "http://127.0.0.1:9/v1"


@pytest.mark.ray
def test_the_model_given_to_the_interpreter_is_used_on_ray(ray_session: Any, make_settings: Any) -> None:
    model = ScriptedModel([tool_call("shell", "echo ran-on-ray"), text("the given model answered")])
    interpreter = Interpreter(make_settings(ray=True, api_base=NOWHERE, max_retries=0), model=model)
    interpreter.chat("go")
    assert "ran-on-ray" in "".join(str(m.content) for m in interpreter.messages if m.type == "console")
    assert [m.content for m in interpreter.messages][-2:] == ["the given model answered", "complete"]
    interpreter.close()
    seen: list[int] = []  # a function model travels too (cloudpickled), closures and all
    counted = FunctionModel(lambda messages, tools: text(f"{len(messages)} messages"))
    with Interpreter(make_settings(ray=True, api_base=NOWHERE, max_retries=0), model=counted) as again:
        again.chat("count")
        seen.append(len(again.messages))
    assert again.messages[-2].content == "2 messages" and seen == [3]


@pytest.mark.ray
def test_a_computer_that_cannot_go_to_ray_is_a_clear_error(make_settings: Any, computer: Any) -> None:
    computer.run("shell", "true")  # a live sandbox: its processes belong to this one
    with pytest.raises(SettingsError, match=r"Interpreter\(computer=...\) cannot be sent to the Ray session "
                                            r"actor .*run the conversation here \(ray=False, no --ray\)"):
        Interpreter(make_settings(ray=True), computer=computer)
    assert Interpreter(make_settings(ray=False), computer=computer).computer is computer  # in-process: fine


def test_pending_names_the_waiting_code_and_an_idle_stop_declines_nothing_later(
        make_settings: Any, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    with ScriptedServer([tool_call("shell", f"touch {marker}"), text("done")]) as srv:
        host = SessionHost(make_settings(api_base=srv.url, auto_run=False))

        async def main() -> tuple[list[str | None], list[Chunk]]:
            session = await host.open()
            await host.stop(session)  # nothing runs: this must not answer the next chat's confirmation
            seen: list[str | None] = []
            chunks = []
            async for chunk in host.chat(session, "do it"):
                chunks.append(chunk)
                if chunk.type == "confirmation" and chunk.end:
                    pending = await host.pending(session)
                    seen.append(str(pending.content) if pending is not None else None)
                    await host.decide(session, True)
            seen.append(str(await host.pending(session)))
            return seen, chunks

        seen, chunks = asyncio.run(main())
    assert seen == [f"touch {marker}", "None"]
    assert marker.exists() and chunks[-1].content == "complete"
