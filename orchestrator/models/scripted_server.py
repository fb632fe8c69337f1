"""A scripted OpenAI-compatible chat server: real HTTP on 127.0.0.1, no model.

Shipped with the product, not only the tests: the benchmark's pseudo-models
(`--model oracle`, `--model null`) run through it, and users can drive an
Interpreter or a Fleet end to end with it, without a model or a key.

A script (orchestrator/models/script.py, shared with the in-process ScriptedModel)
is a list of replies, served in order, one per `POST /v1/chat/completions`.
Each reply is plain text (markdown), one or more tool calls, an injected HTTP
error, or a stream fault after some text (`stall`, `drop`, `malformed`); streamed
as server-sent events when the request asks for `stream: true`,
as one JSON body otherwise. Every request body is recorded so a test can assert
what the model was sent (messages, tools, images).

    from orchestrator.models.scripted_server import ScriptedServer, text, tool_call, http_error, stall

    with ScriptedServer([http_error(500), tool_call("python", "print(2 + 2)"), text("Done.")]) as srv:
        litellm.completion(model="openai/scripted", api_base=srv.url, api_key="x", messages=...)
        assert srv.requests[-1]["messages"][-1]["role"] == "tool"

`context_window=N` makes the server refuse prompts over N estimated tokens with
OpenAI's context-length error (status 400, code context_length_exceeded), so
context trimming can be tested against the real error path.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from orchestrator.models.script import (
    Reply,
    ToolCall,
    drop,
    estimated_usage,
    http_error,
    malformed,
    prompt_tokens,
    raw_tool_call,
    stall,
    text,
    tool_call,
)

__all__ = ["Reply", "ScriptedServer", "ToolCall", "drop", "http_error", "malformed", "raw_tool_call", "stall",
           "text", "tool_call"]


@dataclass
class _State:
    script: list[Reply]
    default: Reply | None
    context_window: int | None
    requests: list[dict[str, Any]] = field(default_factory=list)
    served: int = 0
    connections: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    closing: threading.Event = field(default_factory=threading.Event)  # ends stalls when the server closes

    def next_reply(self, body: dict[str, Any]) -> Reply:
        with self.lock:
            self.requests.append(body)
            if self.context_window is not None:
                used = prompt_tokens(body.get("messages", []))
                if used > self.context_window:
                    return http_error(
                        400,
                        f"This model's maximum context length is {self.context_window} tokens. "
                        f"However, your messages resulted in {used} tokens.",
                        code="context_length_exceeded",
                    )
            if self.served < len(self.script):
                self.served += 1
                return self.script[self.served - 1]
            if self.default is not None:
                return self.default
            return http_error(400, f"scripted server: script exhausted after {len(self.script)} replies")


def _pieces(s: str, size: int) -> Iterator[str]:
    for i in range(0, len(s), max(1, size)):
        yield s[i : i + size]


def _deltas(reply: Reply) -> Iterator[dict[str, Any]]:
    """The `delta` objects of a streamed reply, in OpenAI's order."""
    yield {"role": "assistant", "content": ""}
    for piece in _pieces(reply.text, reply.chunk_size):
        yield {"content": piece}
    for index, call in enumerate(reply.tool_calls):
        head = {"index": index, "id": call.id or f"call_{index}", "type": "function",
                "function": {"name": call.name, "arguments": ""}}
        yield {"tool_calls": [head]}
        for piece in _pieces(call.arguments, reply.chunk_size * 2):
            yield {"tool_calls": [{"index": index, "function": {"arguments": piece}}]}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so clients reuse connections as with real servers
    # Why: a stream is many small writes; with Nagle each waited for the client's delayed ACK (~40 ms a reply)
    disable_nagle_algorithm = True
    state: _State

    def setup(self) -> None:
        """Count the connection (clients that reuse connections open few)."""
        super().setup()
        with self.state.lock:
            self.state.connections += 1

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Silence the default stderr access log."""

    def _send_json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        """List the one scripted model (some clients probe /v1/models)."""
        if self.path.rstrip("/").endswith("/models"):
            self._send_json(200, {"object": "list", "data": [{"id": "scripted", "object": "model"}]})
        else:
            self._send_json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

    def do_POST(self) -> None:
        """Serve the next scripted reply to a chat completion request."""
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._send_json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
            return
        reply = self.state.next_reply(body)
        if reply.delay:
            time.sleep(reply.delay)
        if reply.status != 200:
            error = {"message": reply.error_message, "type": "scripted_error", "code": reply.error_code}
            self._send_json(reply.status, {"error": error})
        elif body.get("stream"):
            self._stream(reply, body)
        elif reply.fault is not None:
            self._whole_fault(reply, body)
        else:
            self._send_json(200, self._whole(reply, body))

    def _whole_fault(self, reply: Reply, body: dict[str, Any]) -> None:
        """A fault in a non-streamed reply: late, never sent, or not JSON."""
        if reply.fault == "drop":
            self._cut()
            return
        if reply.fault == "stall":
            self.state.closing.wait(reply.stall)
            self._send_json(200, self._whole(reply, body))
            return
        data = b"{not json"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _cut(self) -> None:
        """Drop the connection as a crashed server would: no end of stream, no response."""
        self.close_connection = True
        self.wfile.flush()
        self.connection.shutdown(socket.SHUT_RDWR)

    def _whole(self, reply: Reply, body: dict[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
        if reply.tool_calls:
            message["tool_calls"] = [
                {"id": c.id or f"call_{i}", "type": "function",
                 "function": {"name": c.name, "arguments": c.arguments}}
                for i, c in enumerate(reply.tool_calls)
            ]
        finish = "tool_calls" if reply.tool_calls else "stop"
        return {"id": "chatcmpl-scripted", "object": "chat.completion", "created": int(time.time()),
                "model": body.get("model", "scripted"),
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": estimated_usage(reply, body.get("messages", []))}

    def _stream(self, reply: Reply, body: dict[str, Any]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        base = {"id": "chatcmpl-scripted", "object": "chat.completion.chunk",
                "created": int(time.time()), "model": body.get("model", "scripted")}
        for delta in _deltas(reply):
            self._event({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
        if reply.fault == "drop":
            self._cut()
            return
        if reply.fault == "stall":
            self.state.closing.wait(reply.stall)
        if reply.fault == "malformed":
            self._write_chunk(b"data: {not json\n\n")
        finish = "tool_calls" if reply.tool_calls else "stop"
        self._event({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
        if (body.get("stream_options") or {}).get("include_usage"):
            self._event({**base, "choices": [], "usage": estimated_usage(reply, body.get("messages", []))})
        self._write_chunk(b"data: [DONE]\n\n")
        self._write_chunk(b"")

    def _event(self, payload: dict[str, Any]) -> None:
        self._write_chunk(b"data: " + json.dumps(payload).encode() + b"\n\n")

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 4096  # the listen backlog: a fleet's sessions connect at once (the default, 5, reset them)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients closing kept-alive connections is normal; report anything else."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class ScriptedServer:
    """An OpenAI-compatible chat server on 127.0.0.1 that plays a script of replies."""

    def __init__(self, script: Iterable[Reply] = (), *, default: Reply | None = None,
                 context_window: int | None = None, host: str = "127.0.0.1") -> None:
        # host: another address only for a test whose client is on another machine (a container node)
        self._state = _State(list(script), default, context_window)
        handler = type("ScriptedHandler", (_Handler,), {"state": self._state})
        self._httpd = _QuietServer((host, 0), handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="scripted-server", daemon=True)
        self._started = False

    @property
    def url(self) -> str:
        """The OpenAI base URL to pass as api_base (ends in /v1)."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every chat request body received so far, in order."""
        with self._state.lock:
            return list(self._state.requests)

    @property
    def connections(self) -> int:
        """How many TCP connections clients have opened so far."""
        return self._state.connections

    @property
    def served(self) -> int:
        """How many scripted replies have been played."""
        return self._state.served

    def add(self, *replies: Reply) -> None:
        """Append replies to the end of the script."""
        with self._state.lock:
            self._state.script.extend(replies)

    def start(self) -> ScriptedServer:
        """Start serving in a background thread."""
        if not self._started:
            self._thread.start()
            self._started = True
        return self

    def close(self) -> None:
        """Stop serving and release the port (stalled replies end)."""
        self._state.closing.set()
        if self._started:
            self._httpd.shutdown()
            self._started = False
        self._httpd.server_close()

    def __enter__(self) -> ScriptedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
