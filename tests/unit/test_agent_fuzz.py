"""The agent under malformed requests: a real agent process, raw frames, then a normal run.

Every request that is not one of the protocol's is answered with an ErrorReply, none of it
runs, and the agent keeps serving; only a broken frame (no way to find the next one) ends
it, after saying why.
"""

from __future__ import annotations

import select
from collections.abc import Iterator

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from executors.local import LocalExecutor, PipeTransport
from executors.sandbox import protocol as p
from lmc.errors import LMCError
from lmc.framing import frame

#: generous: a loaded 2-core machine; a healthy agent answers in milliseconds
ANSWER_WITHIN = 30.0


class Agent:
    """A real agent process spoken to frame by frame."""

    def __init__(self) -> None:
        transport = LocalExecutor().connect()
        assert isinstance(transport, PipeTransport)
        self.transport = transport
        hello = self.recv()
        assert isinstance(hello, p.Hello) and hello.protocol == p.PROTOCOL
        self.pid = hello.pid
        self.next_id = 1000

    def send_raw(self, data: bytes) -> None:
        self.transport.stdin.write(data)
        self.transport.stdin.flush()

    def payload(self) -> bytes | None:
        """The next frame's payload; None at the end of the agent's output; fails after ANSWER_WITHIN."""
        ready, _, _ = select.select([self.transport.stdout], [], [], ANSWER_WITHIN)
        assert ready, f"the agent did not answer within {ANSWER_WITHIN} s"
        return self.transport.recv()

    def recv(self) -> p.AgentMessage:
        payload = self.payload()
        assert payload is not None, "the agent exited"
        return p.decode(payload)

    def run(self, code: str) -> tuple[str, p.AgentMessage]:
        """A well-formed run: its console output and its last message."""
        self.next_id += 1
        rid = self.next_id
        self.transport.send(p.encode(p.RunRequest(rid, "python", code, 30.0, 10_000, 2.0)))
        out = []
        while True:
            reply = self.recv()
            assert getattr(reply, "id", rid) == rid, reply
            if isinstance(reply, p.ChunkReply):
                if reply.chunk.type == "console" and isinstance(reply.chunk.content, str):
                    out.append(reply.chunk.content)
            elif isinstance(reply, (p.Done, p.ErrorReply)):
                return "".join(out), reply

    def close(self) -> None:
        self.transport.close()


@pytest.fixture(scope="module")
def agent() -> Iterator[Agent]:
    """One agent for the module: the point is that it survives everything sent to it."""
    a = Agent()
    yield a
    a.close()


def _refused(agent: Agent, request: object) -> p.ErrorReply:
    agent.send_raw(frame(msgpack.packb(request, use_bin_type=True)))
    reply = agent.recv()
    assert isinstance(reply, p.ErrorReply), reply
    return reply


def test_a_run_without_id_is_refused_and_the_agent_keeps_serving(agent: Agent) -> None:
    reply = _refused(agent, {"op": "run", "language": "python", "code": "print('leak')", "timeout": None,
                             "max_output": 100, "input_timeout": 1.0})
    assert reply.id is None and "'id' field" in reply.error.message
    assert agent.run("print('next')")[0] == "next\n"


def test_a_run_with_a_wrong_timeout_runs_nothing(agent: Agent) -> None:
    reply = _refused(agent, {"op": "run", "id": 7, "language": "python", "timeout": "5",
                             "code": "import time\ntime.sleep(0.5)\nprint('leak')", "max_output": 100,
                             "input_timeout": 1.0})
    assert reply.id == 7 and reply.error.kind == "InvalidMessage" and "timeout" in reply.error.message
    out, last = agent.run("import time\ntime.sleep(1)\nprint('mine')")
    assert out == "mine\n" and isinstance(last, p.Done)  # nothing of the refused run leaked in


@pytest.mark.parametrize("request_", [
    {"op": "stop", "id": [1]},
    {"op": "reply", "cid": [1], "result": 1},
    {"op": "reply", "cid": 1, "error": {"kind": 1}},
    {"op": "languages", "id": "x"},
    {"op": "run", "id": 1, "language": ["python"], "code": "1", "timeout": None, "max_output": 1,
     "input_timeout": 1.0},
    {"op": "run", "id": 1, "language": "python", "code": "1", "timeout": float("nan"), "max_output": 1,
     "input_timeout": 1.0},
    {"op": "hello", "protocol": 3, "pid": 1},
    {"op": ["run"]},
    "run",
    None,
], ids=repr)
def test_wrong_typed_requests_are_answered_not_fatal(agent: Agent, request_: object) -> None:
    _refused(agent, request_)
    assert agent.run("print('alive')")[0] == "alive\n"


OPS = ["languages", "run", "stop", "reply", "hello", "chunk", "done", "error", "call", "launch", None]
FIELDS = ["id", "cid", "language", "code", "timeout", "max_output", "input_timeout", "result", "error",
          "path", "args", "kwargs", "chunk", "languages", "kind", "message", "fields"]
leaves = (st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**64 - 1) | st.floats()
          | st.text(max_size=6) | st.binary(max_size=6) | st.sampled_from(["python", "print('leak')", "x"]))
values = st.recursive(leaves, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=3), inner, max_size=4),
                      max_leaves=10)
requests = st.dictionaries(st.sampled_from(FIELDS), values, max_size=7).flatmap(
    lambda fields: st.sampled_from(OPS).map(lambda op: {**fields, "op": op} if op else fields))


def _is_valid(payload: bytes) -> bool:
    try:
        p.decode(payload)
    except LMCError:
        return False
    return True


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(requests, values).map(lambda v: msgpack.packb(v, use_bin_type=True)) | st.binary(max_size=40))
def test_fuzzed_requests_each_get_an_error_and_the_agent_keeps_serving(agent: Agent, payload: bytes) -> None:
    if _is_valid(payload):
        return  # a request that happens to be well formed (a stop, a reply) is not this test's subject
    agent.send_raw(frame(payload))
    reply = agent.recv()
    assert isinstance(reply, p.ErrorReply), reply


def test_after_the_fuzzing_a_normal_run_still_works(agent: Agent) -> None:
    out, last = agent.run("x = 6 * 7\nprint(x)")
    assert out == "42\n" and isinstance(last, p.Done)


def test_a_broken_frame_ends_the_agent_with_an_explanation() -> None:
    lone = Agent()
    try:
        lone.send_raw(b"\xff\xff\xff\xff")
        reply = lone.recv()
        assert isinstance(reply, p.ErrorReply) and reply.error.kind == "FramingError"
        assert lone.payload() is None  # then it exits
    finally:
        lone.close()


def test_a_refusals_fields_set_only_what_its_class_keeps() -> None:
    from executors.errors import UnknownLanguage, from_wire

    rebuilt = from_wire(p.WireError("UnknownLanguage", "unknown language 'x'",
                                    {"name": "x", "known": ["python"], "args": 5, "__class__": 1, "extra": 2}))
    assert isinstance(rebuilt, UnknownLanguage) and (rebuilt.name, rebuilt.known) == ("x", ["python"])
    assert rebuilt.args == ("unknown language 'x'",) and not hasattr(rebuilt, "extra")
