"""Runs on E2B's own code interpreter (Jupyter in the `code-interpreter-v1` template), mapped to LMC chunks.

Why not always the agent: E2B's template ships Jupyter kernels for languages
the agent has no plugin for (R, Java, Deno/TypeScript, ...) and its Python
kernel returns rich display data (charts with their underlying data, HTML
tables). `E2BConfig.interpreter_languages` routes those languages here; the
agent stays the default because it gives the same semantics as every other
backend (stdin detection, output limits, `computer.*`).

Mapping: stdout and stderr -> one console/output block, in arrival order; a
Result -> image/png or image/jpeg when it has one, else its text (or markdown,
HTML) as console output; an ExecutionError -> its traceback as console output
(data for the model, as our own languages report exceptions); a timeout ->
a `timeout` error; stop() -> an `interrupted` error.
"""

from __future__ import annotations

import base64
import queue
import threading
from collections.abc import Iterator
from typing import Any

from executors.e2b.errors import map_error
from executors.sandbox.languages.base import RunLimits, error_chunk
from lmc.messages import Chunk

_END = object()


class _Stopped(Exception):
    """Raised inside the SDK's callback to abandon the request when stop() was called."""


class ConsoleBlock:
    """Builds one console/output block: the first chunk starts it, close() ends it."""

    def __init__(self) -> None:
        self.open = False

    def text(self, text: str) -> Chunk:
        """A chunk of output text."""
        start, self.open = not self.open, True
        return Chunk("computer", "console", text, "output", start=start)

    def close(self) -> Iterator[Chunk]:
        """The chunk that ends the block, if one is open."""
        if self.open:
            self.open = False
            yield Chunk("computer", "console", "", "output", end=True)


def result_chunks(result: Any, block: ConsoleBlock) -> Iterator[Chunk]:
    """LMC chunks for one E2B `Result` (png/jpeg images, else its text)."""
    for fmt in ("png", "jpeg"):
        data = getattr(result, fmt, None)
        if data:
            yield from block.close()
            yield Chunk("computer", "image", base64.b64decode(data), fmt, start=True, end=True)
            return
    text = result.text or getattr(result, "markdown", None) or getattr(result, "html", None)
    if text:
        yield block.text(text if text.endswith("\n") else text + "\n")


def run_code(
    sandbox: Any, language: str, code: str, limits: RunLimits, stop: threading.Event
) -> Iterator[Chunk]:
    """Run code on the sandbox's code interpreter, streaming LMC chunks as E2B sends them."""
    from e2b.exceptions import TimeoutException

    events: queue.Queue[Any] = queue.Queue()

    def put(kind: str) -> Any:
        def callback(item: Any) -> None:
            if stop.is_set():
                raise _Stopped()
            events.put((kind, item))
        return callback

    def work() -> None:
        try:
            sandbox.run_code(code, language=language, on_stdout=put("text"), on_stderr=put("text"),
                             on_result=put("result"), on_error=put("error"), timeout=limits.timeout or 0)
        except Exception as exc:  # noqa: BLE001 - handed to the consumer, which maps it
            events.put(("failed", exc))
        finally:
            events.put((_END, None))

    threading.Thread(target=work, name="e2b-run-code", daemon=True).start()
    block = ConsoleBlock()
    while (item := events.get())[0] is not _END:
        kind, value = item
        if kind == "text":
            yield block.text(str(value.line))
        elif kind == "result":
            yield from result_chunks(value, block)
        elif kind == "error":
            yield block.text(value.traceback if value.traceback.endswith("\n") else value.traceback + "\n")
        elif isinstance(value, _Stopped):
            yield from block.close()
            yield error_chunk("interrupted", "the code was stopped on request")
        elif isinstance(value, TimeoutException) and limits.timeout:
            yield from block.close()
            yield error_chunk(
                "timeout", f"the code ran past its {limits.timeout:g} s timeout and was stopped"
            )
        else:
            yield from block.close()
            raise map_error(value, f"running {language} on E2B's code interpreter")
    yield from block.close()
