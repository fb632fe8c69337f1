"""The agent protocol: every message between the host and the in-sandbox agent, typed, one codec.

Each message is a frozen dataclass with a literal `op` tag; `encode` turns one
into a msgpack payload and `decode` turns a payload back into the same class
(`InvalidMessage` when it fits none). The executor actor streams the same
`ChunkReply` / `CallRequest` / `ErrorReply` items to its clients, so a
`computer.*` call and an error look alike on every hop.

Host -> agent:
    LanguagesRequest(id)              which languages load here
    RunRequest(id, language, code, timeout, max_output, input_timeout)
    StopRequest(id)                   interrupt run `id` if it is still going
    CallReply(cid, result | error)    the host's answer to computer.* call `cid`
    CloseRequest()                    free everything and exit
Agent -> host:
    Hello(protocol, pid)              once, when ready
    LanguagesReply(id, languages)
    ChunkReply(id, chunk)             LMC chunks of run `id`, in order
    CallRequest(id, cid, path, args, kwargs)   code of run `id` called computer.<path>(...)
    Done(id)                          run `id` is over
    ErrorReply(id, error)             the request failed; `error` is rebuilt by executors.errors
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Literal

from lmc.codec import chunk_from_dict, pack, to_dict, unpack
from lmc.errors import InvalidMessage
from lmc.messages import Chunk

#: version the agent announces in its Hello
PROTOCOL = 2


@dataclass(frozen=True, slots=True)
class WireError:
    """An error as data: its class name (`kind`), its message, and the fields its class keeps."""

    kind: str  #: the class name, e.g. "UnknownLanguage"; executors.errors rebuilds it
    message: str  #: str() of the error
    fields: dict[str, Any] = field(default_factory=dict)  #: attributes the class keeps (msgpack-ready)


@dataclass(frozen=True, slots=True)
class LanguagesRequest:
    """Host -> agent: list the languages that load."""

    op: ClassVar[Literal["languages"]] = "languages"
    id: int


@dataclass(frozen=True, slots=True)
class RunRequest:
    """Host -> agent: run code in a language under limits."""

    op: ClassVar[Literal["run"]] = "run"
    id: int
    language: str
    code: str
    timeout: float | None  #: seconds before the code is stopped; None for no limit
    max_output: int  #: characters of output kept
    input_timeout: float  #: seconds the code may wait for standard input


@dataclass(frozen=True, slots=True)
class StopRequest:
    """Host -> agent: interrupt run `id`."""

    op: ClassVar[Literal["stop"]] = "stop"
    id: int


@dataclass(frozen=True, slots=True)
class CallReply:
    """Host -> agent (and client -> executor actor): the answer to computer.* call `cid`."""

    op: ClassVar[Literal["reply"]] = "reply"
    cid: int
    result: Any = None  #: msgpack-ready result; an image is an LMC message dict
    error: WireError | None = None  #: why the call failed, instead of a result


@dataclass(frozen=True, slots=True)
class CloseRequest:
    """Host -> agent: free everything and exit."""

    op: ClassVar[Literal["close"]] = "close"


@dataclass(frozen=True, slots=True)
class Hello:
    """Agent -> host, once: the agent is ready."""

    op: ClassVar[Literal["hello"]] = "hello"
    protocol: int
    pid: int


@dataclass(frozen=True, slots=True)
class LanguagesReply:
    """Agent -> host: name and aliases of each language that loads."""

    op: ClassVar[Literal["languages_reply"]] = "languages_reply"
    id: int
    languages: list[tuple[str, tuple[str, ...]]]


@dataclass(frozen=True, slots=True)
class ChunkReply:
    """Agent -> host: one LMC chunk of run `id`."""

    op: ClassVar[Literal["chunk"]] = "chunk"
    id: int
    chunk: Chunk


@dataclass(frozen=True, slots=True)
class CallRequest:
    """Agent -> host: code of run `id` called computer.<path>(*args, **kwargs)."""

    op: ClassVar[Literal["call"]] = "call"
    id: int
    cid: int
    path: str
    args: list[Any] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Done:
    """Agent -> host: run `id` is over."""

    op: ClassVar[Literal["done"]] = "done"
    id: int


@dataclass(frozen=True, slots=True)
class ErrorReply:
    """Agent -> host: request `id` failed (None: a request without an id)."""

    op: ClassVar[Literal["error"]] = "error"
    id: int | None
    error: WireError


Request = LanguagesRequest | RunRequest | StopRequest | CallReply | CloseRequest
Reply = Hello | LanguagesReply | ChunkReply | CallRequest | Done | ErrorReply
AgentMessage = Request | Reply

_TYPES: dict[str, type[Any]] = {cls.op: cls for cls in (
    LanguagesRequest, RunRequest, StopRequest, CallReply, CloseRequest,
    Hello, LanguagesReply, ChunkReply, CallRequest, Done, ErrorReply,
)}
#: each message class's field names, computed once: `dataclasses.fields()` per message cost
#: a measurable share of a warm run (two messages each way per Computer.run)
_NAMES: dict[type[Any], tuple[str, ...]] = {cls: tuple(f.name for f in fields(cls)) for cls in _TYPES.values()}


def _error_to_dict(error: WireError) -> dict[str, Any]:
    return {"kind": error.kind, "message": error.message, "fields": error.fields}


def _error_from_dict(data: Any) -> WireError:
    if not isinstance(data, dict) or not isinstance(data.get("kind"), str):
        raise InvalidMessage("error", "a map with kind, message and fields", data)
    return WireError(data["kind"], str(data.get("message", "")), dict(data.get("fields") or {}))


def to_wire(message: AgentMessage) -> dict[str, Any]:
    """A message as a msgpack-ready map, tagged with its `op`."""
    out: dict[str, Any] = {"op": message.op}
    for name in _NAMES[type(message)]:
        value = getattr(message, name)
        if isinstance(value, Chunk):
            value = to_dict(value)
        elif isinstance(value, WireError):
            value = _error_to_dict(value)
        out[name] = value
    return out


def from_wire(data: object) -> AgentMessage:
    """The message a msgpack map holds; InvalidMessage when it is not one of the protocol's."""
    if not isinstance(data, dict):
        raise InvalidMessage("agent message", "a map with an op", data)
    cls = _TYPES.get(data.get("op"))  # type: ignore[arg-type]
    if cls is None:
        raise InvalidMessage("op", f"one of {', '.join(sorted(_TYPES))}", data.get("op"))
    values = {name: data[name] for name in _NAMES[cls] if name in data}
    if "chunk" in values:
        values["chunk"] = chunk_from_dict(values["chunk"])
    if values.get("error") is not None:
        values["error"] = _error_from_dict(values["error"])
    if cls is LanguagesReply:
        values["languages"] = [(str(name), tuple(aliases)) for name, aliases in values.get("languages", [])]
    try:
        return cls(**values)  # type: ignore[no-any-return]
    except TypeError as exc:
        raise InvalidMessage(f"{cls.op} message", "all its fields", sorted(data)) from exc


def encode(message: AgentMessage) -> bytes:
    """One message as a msgpack payload (the transport frames it)."""
    return pack(to_wire(message))


def decode(payload: bytes) -> AgentMessage:
    """The message in one msgpack payload."""
    return from_wire(unpack(payload))
