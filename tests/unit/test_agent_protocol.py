"""The agent protocol and the error registry: every message and every error survives the wire."""

from __future__ import annotations

import pytest

from executors.blocks import OpenBlock
from executors.errors import ExecutorError, UnknownLanguage, from_wire, registry, to_wire
from executors.sandbox import protocol as p
from lmc.codec import pack
from lmc.errors import InvalidMessage, LMCError
from lmc.messages import Chunk

MESSAGES: list[p.AgentMessage] = [
    p.LanguagesRequest(1),
    p.RunRequest(2, "python", "print(1)", None, 1000, 2.0),
    p.RunRequest(3, "shell", "sleep 1", 5.5, 10, 0.5),
    p.StopRequest(2),
    p.CallReply(7, result={"width": 1280, "raw": b"\x00\x01"}),
    p.CallReply(8, error=p.WireError("DeviceUsageError", "no such key 'Entr'", {"key": "Entr"})),
    p.CloseRequest(),
    p.Hello(p.PROTOCOL, 4242),
    p.LanguagesReply(1, [("python", ("py", "python3")), ("shell", ())]),
    p.ChunkReply(2, Chunk("computer", "console", "hi\n", "output", start=True)),
    p.ChunkReply(2, Chunk("computer", "image", b"\x89PNG", "png", start=True, end=True)),
    p.CallRequest(2, 7, "display.size", [], {}),
    p.CallRequest(2, 9, "mouse.click", [10, 20], {"button": "left"}),
    p.Done(2),
    p.ErrorReply(2, p.WireError("UnknownLanguage", "unknown language 'x'", {"name": "x", "known": ["python"]})),
    p.ErrorReply(None, p.WireError("AgentError", "bad request")),
]


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: type(m).__name__)
def test_every_message_round_trips(message: p.AgentMessage) -> None:
    assert p.decode(p.encode(message)) == message


@pytest.mark.parametrize("payload,field", [
    (pack([1, 2]), "agent message"),
    (pack({"op": "launch"}), "op"),
    (pack({"id": 1}), "op"),
    (pack({"op": "run", "id": 1}), "run message"),
    (pack({"op": "error", "id": 1, "error": "boom"}), "error"),
])
def test_a_payload_that_is_no_message_says_which_field(payload: bytes, field: str) -> None:
    with pytest.raises(InvalidMessage) as info:
        p.decode(payload)
    assert info.value.field == field


def test_every_registered_error_is_rebuilt_as_its_own_class() -> None:
    for kind, cls in registry().items():
        exc = cls.__new__(cls)
        Exception.__init__(exc, f"a {kind} happened")
        for name in cls.wire_fields if issubclass(cls, ExecutorError) else ():
            setattr(exc, name, f"{name} of {kind}")
        rebuilt = from_wire(p.decode(p.encode(p.ErrorReply(1, to_wire(exc)))).error)  # type: ignore[union-attr]
        assert type(rebuilt) is cls and str(rebuilt) == f"a {kind} happened"
        assert to_wire(rebuilt) == to_wire(exc)


def test_an_error_keeps_its_fields() -> None:
    rebuilt = from_wire(to_wire(UnknownLanguage("pyhton", ["shell", "python"])))
    assert isinstance(rebuilt, UnknownLanguage) and isinstance(rebuilt, ValueError)
    assert (rebuilt.name, rebuilt.known) == ("pyhton", ["python", "shell"])
    assert str(rebuilt) == "unknown language 'pyhton'; known: python, shell"


def test_an_unknown_kind_becomes_an_executor_error_that_names_it() -> None:
    rebuilt = from_wire(p.WireError("MartianError", "no oxygen"))
    assert type(rebuilt) is ExecutorError and str(rebuilt) == "MartianError: no oxygen"
    assert "LMCError" in registry() and registry()["LMCError"] is LMCError


def test_a_cut_stream_gets_its_open_block_ended() -> None:
    block = OpenBlock()
    head = Chunk("computer", "console", "a", "output", start=True)
    image = Chunk("computer", "image", b"x", "png", start=True, end=True)
    out = list(block.watch([head, image, head]))
    end = Chunk("computer", "console", None, "output", end=True)
    assert out == [head, end, image, head]
    assert list(block.close()) == [end] and list(block.close()) == []
