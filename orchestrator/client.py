"""Clients of `lmc serve`: a remote Computer and a remote conversation, over HTTP and SSE.

    from orchestrator.client import RemoteComputer, RemoteConversation

    with RemoteComputer("http://127.0.0.1:8765", token, backend="docker") as computer:
        computer.run("python", "print(2 + 2)")              # the output messages
        for chunk in computer.run("shell", "ls", stream=True): ...

    with RemoteConversation(url, token, model="openai/gpt-4o", api_key=key) as chat:
        for chunk in chat.chat("How many files are here?", stream=True):
            if chunk.type == "confirmation":
                chat.approve()

Server errors are raised as the classes of `orchestrator.server.errors` (NotFound,
BadRequest, Busy...), with the server's message. Needs httpx (`pip install 'lmc[serve]'`).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import select
import threading
from collections.abc import Iterable, Iterator
from typing import Any, Literal, overload
from urllib.parse import urlsplit

import httpx

from lmc.assembly import assemble
from lmc.messages import Chunk, Message
from orchestrator.server.errors import ServerError, Unreachable, VersionMismatch, from_body
from orchestrator.server.wire import API_VERSION, chunk_from_json, message_from_json

__all__ = ["Connection", "RemoteComputer", "RemoteConversation"]


def _error(response: httpx.Response) -> ServerError:
    return _error_of(response.content, response.status_code)


def _error_of(content: bytes, status: int) -> ServerError:
    text = content.decode(errors="replace")
    try:
        body: Any = json.loads(text)
    except ValueError:
        body = text
    return from_body(body, status)


def _events(lines: Iterable[str]) -> Iterator[tuple[str, Any]]:
    """(event, data) pairs of a server-sent event stream."""
    event = "message"
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                yield event, json.loads("\n".join(data))
            event, data = "message", []
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip())


@contextlib.contextmanager
def _reaching(url: str) -> Iterator[None]:
    """Transport failures (httpx's and http.client's; the one place they are mapped) raised as Unreachable,
    naming the fix."""
    try:
        yield
    except Unreachable:  # ours already (it is a ConnectionError too)
        raise
    except (httpx.TimeoutException, TimeoutError) as exc:
        raise Unreachable(f"lmc serve at {url} did not answer in time ({type(exc).__name__}); "
                          "is the server overloaded or stuck? its log says more") from exc
    except (httpx.TransportError, OSError, http.client.HTTPException) as exc:
        raise Unreachable(f"cannot reach lmc serve at {url} ({type(exc).__name__}: {exc}); is it running "
                          "there? start it with `lmc serve`, or check the URL and port") from exc


class _Streams(threading.local):
    """Each thread's kept connection for streamed answers (http.client: see Connection.stream)."""

    connection: http.client.HTTPConnection | None = None


class Connection:
    """A server's URL and a token: the requests every remote object makes."""

    def __init__(self, url: str, token: str, *, timeout: float = 300.0) -> None:
        self.url = url.rstrip("/")
        self.http = httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {token}"},
                                 timeout=httpx.Timeout(timeout))
        self._where = urlsplit(self.url)
        self._headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                         "Accept": "text/event-stream"}
        self._streams = _Streams()

    def call(self, method: str, path: str, body: dict[str, Any] | None = None, *,
             content: bytes | None = None) -> httpx.Response:
        """One request; the server's error raised as ours."""
        with _reaching(self.url):
            response = self.http.request(method, path, json=body, content=content)
        if response.status_code >= 400:
            raise _error(response)
        return response

    def stream(self, path: str, body: dict[str, Any]) -> Iterator[Chunk]:
        """POST, then the chunks of the SSE answer; an `error` event is raised.

        Streams go through the standard library's http.client on a connection each thread keeps, not
        httpx: per run httpx cost ~1.6 ms more of client CPU than the whole server adds (uvloop and
        httptools on; benchmarks/results/server/README.md)."""
        payload = json.dumps(body).encode()
        with _reaching(self.url):
            connection = self._stream_connection()
            finished = False
            try:
                connection.request("POST", self._where.path + path, payload, self._headers)
                response = connection.getresponse()
                if response.status >= 400:
                    content = response.read()
                    finished = True
                    raise _error_of(content, response.status)
                lines = (raw.decode().rstrip("\r\n") for raw in iter(response.readline, b""))
                for event, data in _events(lines):
                    if event == "chunk":
                        yield chunk_from_json(data)
                    elif event == "error":
                        raise from_body(data)
                    elif event == "done":
                        response.read()  # to the end: the connection is kept for the next run
                        finished = True
                        return
                raise Unreachable(f"lmc serve at {self.url} ended its answer to {path} before `done`; "
                                  "the server may have stopped or crashed: its log says more")
            finally:
                if not finished:  # a stream left half read (or broken) cannot carry the next request
                    connection.close()
                    self._streams.connection = None

    def _stream_connection(self) -> http.client.HTTPConnection:
        """This thread's kept connection, or a new one if it is absent or the server closed it (idle)."""
        connection = self._streams.connection
        if connection is not None and connection.sock is not None:
            readable, _, _ = select.select([connection.sock], [], [], 0)
            if not readable:  # an idle kept connection has nothing to read, unless the server closed it
                return connection
            connection.close()
        kind = http.client.HTTPSConnection if self._where.scheme == "https" else http.client.HTTPConnection
        connection = kind(self._where.hostname or "127.0.0.1", self._where.port, timeout=30.0)
        connection.connect()
        if connection.sock is not None:
            connection.sock.settimeout(None)  # 30 s to connect; a run's answer may take as long as the run
        self._streams.connection = connection
        return connection

    def check_version(self) -> dict[str, Any]:
        """The server's `GET /version`; Unreachable, Unauthorized (a wrong token) or VersionMismatch if not ours."""
        with _reaching(self.url):
            response = self.http.get("/version")
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code == 401:
            raise _error(response)
        found = body.get("api") if isinstance(body, dict) else None
        if response.status_code >= 400 or not isinstance(found, int):
            raise VersionMismatch(f"{self.url} answered GET /version with HTTP {response.status_code}: it is not "
                                  f"lmc serve, or one older than API {API_VERSION}; point --server at an "
                                  f"`lmc serve` of this lmc version")
        if found != API_VERSION:
            raise VersionMismatch(f"lmc serve at {self.url} speaks API {found} (lmc {body.get('lmc')}); this "
                                  f"client speaks API {API_VERSION}: install the same lmc version on both sides")
        about: dict[str, Any] = body
        return about

    def close(self) -> None:
        """Close the HTTP connections (the streams' of this thread; other threads' close as they end)."""
        self.http.close()
        if self._streams.connection is not None:
            self._streams.connection.close()
            self._streams.connection = None


class _Remote:
    """A server-side object, made by POST to its collection; closing deletes it."""

    def __init__(self, url: str, token: str, collection: str, body: dict[str, Any],
                 idle_timeout: float | None) -> None:
        self.connection = Connection(url, token)
        if idle_timeout is not None:
            body["idle_timeout"] = idle_timeout
        try:
            self.info: dict[str, Any] = self.connection.call("POST", collection, body).json()
        except BaseException:
            self.connection.close()
            raise
        self.id: str = self.info["id"]
        self.path = f"{collection}/{self.id}"

    def keepalive(self) -> None:
        """Count as used now, so the server's idle timeout starts again."""
        self.connection.call("POST", f"{self.path}/keepalive")

    def stop(self) -> None:
        """Interrupt what is running."""
        self.connection.call("POST", f"{self.path}/stop")

    def close(self) -> None:
        """Delete it on the server and close the connection."""
        try:
            self.connection.call("DELETE", self.path)
        finally:
            self.connection.close()

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RemoteComputer(_Remote):
    """A Computer on an `lmc serve` server; `run` mirrors Computer.run."""

    def __init__(self, url: str, token: str, backend: str = "local", *, config: dict[str, Any] | None = None,
                 idle_timeout: float | None = None) -> None:
        super().__init__(url, token, "/computers", {"backend": backend, "config": config or {}}, idle_timeout)

    @overload
    def run(self, language: str, code: str, *, stream: Literal[False] = False, timeout: float | None = None,
            max_output: int | None = None) -> list[Message]: ...

    @overload
    def run(self, language: str, code: str, *, stream: Literal[True], timeout: float | None = None,
            max_output: int | None = None) -> Iterator[Chunk]: ...

    def run(self, language: str, code: str, *, stream: bool = False, timeout: float | None = None,
            max_output: int | None = None) -> list[Message] | Iterator[Chunk]:
        """Run code; the output messages, or (stream=True) the chunks as they come."""
        body: dict[str, Any] = {"language": language, "code": code}
        if timeout is not None:
            body["timeout"] = timeout
        if max_output is not None:
            body["max_output"] = max_output
        chunks = self.connection.stream(f"{self.path}/run", body)
        return chunks if stream else assemble(chunks)

    def write(self, path: str, content: bytes) -> str:
        """Write a file in the sandbox (relative to its workspace); its absolute path there."""
        written: str = self.connection.call("PUT", f"{self.path}/files/{path}", content=content).json()["path"]
        return written

    def read(self, path: str) -> bytes:
        """The bytes of a file in the sandbox."""
        return self.connection.call("GET", f"{self.path}/files/{path}").content


class RemoteConversation(_Remote):
    """A conversation on an `lmc serve` server; `chat` mirrors Interpreter.chat."""

    def __init__(self, url: str, token: str, *, model: str, idle_timeout: float | None = None,
                 **settings: Any) -> None:
        super().__init__(url, token, "/conversations", {"model": model, **settings}, idle_timeout)

    @overload
    def chat(self, message: str, *, stream: Literal[False] = False) -> list[Message]: ...

    @overload
    def chat(self, message: str, *, stream: Literal[True]) -> Iterator[Chunk]: ...

    def chat(self, message: str, *, stream: bool = False) -> list[Message] | Iterator[Chunk]:
        """Send a message; the chunks as they come (stream=True), or the new messages at the end."""
        chunks = self.connection.stream(f"{self.path}/messages", {"content": message})
        return chunks if stream else assemble(chunks)

    def approve(self) -> None:
        """Run the code of the confirmation just received."""
        self.connection.call("POST", f"{self.path}/approve")

    def decline(self) -> None:
        """Do not run the code of the confirmation just received."""
        self.connection.call("POST", f"{self.path}/decline")

    @property
    def usage(self) -> dict[str, Any]:
        """Tokens, cost, model calls and wall time spent, against the budgets: Interpreter.usage.to_dict()."""
        usage: dict[str, Any] = self.connection.call("GET", self.path).json()["usage"]
        return usage

    @property
    def messages(self) -> list[Message]:
        """The transcript so far."""
        return [message_from_json(m) for m in self.connection.call("GET", f"{self.path}/messages").json()]
