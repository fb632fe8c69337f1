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
    ErrorReply(id, error)             request `id` failed or was refused (it ends the request: no
                                      Done follows); `error` is rebuilt by executors.errors; id None
                                      when the refused request had no usable id

Both sides treat what arrives as untrusted: `decode` checks every field's type, and a
message that fits no class, or a field of the wrong type, is an `InvalidMessage`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, ClassVar, Literal

from lmc.codec import chunk_from_dict, pack, to_dict, unpack
from lmc.errors import InvalidMessage, LMCError
from lmc.messages import Chunk

#: version the agent announces in its Hello (3: an ErrorReply ends a run, no Done follows it)
PROTOCOL = 3


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


def _error_to_dict(error: WireError) -> dict[str, Any]:
    return {"kind": error.kind, "message": error.message, "fields": error.fields}


# -- checks: every field of a message that arrives is checked before a class is built, so a peer
# -- that sends the wrong type (a hostile sandbox, a corrupt channel) gets InvalidMessage, never a
# -- TypeError deep inside, and nothing of a malformed request is acted on

def _int(name: str, value: Any) -> int:
    if type(value) is not int:  # bool is an int subclass, and no id or count
        raise InvalidMessage(name, "an int", value)
    return value


def _optional_int(name: str, value: Any) -> int | None:
    return None if value is None else _int(name, value)


def _count(name: str, value: Any) -> int:
    if type(value) is not int or value < 0:
        raise InvalidMessage(name, "an int >= 0", value)
    return value


def _seconds(name: str, value: Any) -> float:
    if type(value) not in (int, float) or not value >= 0:  # `not >=` also refuses NaN
        raise InvalidMessage(name, "a number of seconds >= 0", value)
    return value  # type: ignore[no-any-return]


def _optional_seconds(name: str, value: Any) -> float | None:
    return None if value is None else _seconds(name, value)


def _str(name: str, value: Any) -> str:
    if type(value) is not str:
        raise InvalidMessage(name, "text", value)
    return value


def _list(name: str, value: Any) -> list[Any]:
    if type(value) is not list:
        raise InvalidMessage(name, "a list", value)
    return value


def _map(name: str, value: Any) -> dict[str, Any]:
    if type(value) is not dict or not all(type(key) is str for key in value):
        raise InvalidMessage(name, "a map with text keys", value)
    return value


def _any(name: str, value: Any) -> Any:
    return value


def _chunk(name: str, value: Any) -> Chunk:
    return chunk_from_dict(value)


def _error(name: str, value: Any) -> WireError:
    if type(value) is not dict or type(value.get("kind")) is not str or type(value.get("message")) is not str:
        raise InvalidMessage(name, "a map with a text kind and message, and fields", value)
    return WireError(value["kind"], value["message"], _map(f"{name} fields", value.get("fields", {})))


def _optional_error(name: str, value: Any) -> WireError | None:
    return None if value is None else _error(name, value)


def _languages(name: str, value: Any) -> list[tuple[str, tuple[str, ...]]]:
    out = []
    for item in _list(name, value):
        if type(item) not in (list, tuple) or len(item) != 2:
            raise InvalidMessage(name, "a list of [name, aliases] pairs", item)
        aliases = _list(f"{name} aliases", item[1])
        out.append((_str(name, item[0]), tuple(_str(f"{name} aliases", alias) for alias in aliases)))
    return out


Check = Callable[[str, Any], Any]
#: field -> its check, for every field name the protocol uses (the same name means the same type)
_FIELD_CHECKS: dict[str, Check] = {
    "id": _int, "cid": _int, "pid": _int, "protocol": _int, "max_output": _count,
    "language": _str, "code": _str, "path": _str, "timeout": _optional_seconds, "input_timeout": _seconds,
    "args": _list, "kwargs": _map, "result": _any, "error": _optional_error, "chunk": _chunk,
    "languages": _languages,
}
#: where a class's field differs from the common type: an ErrorReply always has an error, maybe no id
_CLASS_CHECKS: dict[tuple[type[Any], str], Check] = {(ErrorReply, "id"): _optional_int, (ErrorReply, "error"): _error}
#: each class's fields as (name, check, required), computed once: per-message introspection cost a
#: measurable share of a warm run (two messages each way per Computer.run)
_CHECKS: dict[type[Any], tuple[tuple[str, Check, bool], ...]] = {
    cls: tuple(
        (f.name, _CLASS_CHECKS.get((cls, f.name), _FIELD_CHECKS[f.name]),
         f.default is MISSING and f.default_factory is MISSING)
        for f in fields(cls)
    )
    for cls in _TYPES.values()
}


def to_wire(message: AgentMessage) -> dict[str, Any]:
    """A message as a msgpack-ready map, tagged with its `op`."""
    out: dict[str, Any] = {"op": message.op}
    for name, _, _ in _CHECKS[type(message)]:
        value = getattr(message, name)
        if isinstance(value, Chunk):
            value = to_dict(value)
        elif isinstance(value, WireError):
            value = _error_to_dict(value)
        out[name] = value
    return out


def from_wire(data: object) -> AgentMessage:
    """The message a msgpack map holds; InvalidMessage naming the field when it is not one of the protocol's."""
    if type(data) is not dict:
        raise InvalidMessage("agent message", "a map with an op", data)
    op = data.get("op")
    cls = _TYPES.get(op) if type(op) is str else None
    if cls is None:
        raise InvalidMessage("op", f"one of {', '.join(sorted(_TYPES))}", op)
    values = {}
    for name, check, required in _CHECKS[cls]:
        if name in data:
            values[name] = check(name, data[name])
        elif required:
            raise InvalidMessage(f"{cls.op} message", f"a {name!r} field", sorted(map(str, data)))
    return cls(**values)  # type: ignore[no-any-return]


def request_id(payload: bytes) -> int | None:
    """The id a payload that failed to decode claims, if any: the refusal names the request it answers."""
    try:
        data = unpack(payload)
    except LMCError:
        return None
    value = data.get("id") if type(data) is dict else None
    return value if type(value) is int else None


def encode(message: AgentMessage) -> bytes:
    """One message as a msgpack payload (the transport frames it)."""
    return pack(to_wire(message))


def decode(payload: bytes) -> AgentMessage:
    """The message in one msgpack payload."""
    return from_wire(unpack(payload))
