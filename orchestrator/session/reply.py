"""One streamed model reply turned into recorded chunks, code to run and notes for the model."""

from __future__ import annotations

from collections.abc import Iterator

from lmc.markdown import BlockStream
from lmc.messages import Chunk, Message
from orchestrator.models.base import Mode, ModelEvent, TextDelta, ToolCall, ToolCallDelta, Usage
from orchestrator.session import prompts
from orchestrator.session.store import Recorder
from orchestrator.session.stuck import LOOP_TAIL, looping_tail


class Asked:
    """What one model call produced."""

    def __init__(self, codes: list[Message], calls: list[Message], notes: list[str], usage: Usage, *,
                 cut: bool = False) -> None:
        self.codes = codes  # code already in the transcript (markdown blocks, repaired text)
        self.calls = calls  # tool calls' code, recorded when it runs
        self.notes, self.usage = notes, usage
        self.cut = cut  # the reply looped in its own text and was cut off


class Reply:
    """Turns one streamed model reply into recorded chunks, code messages and notes."""

    def __init__(self, recorder: Recorder, languages: list[str], mode: Mode) -> None:
        self.recorder, self.languages, self.mode = recorder, languages, mode
        self.messages = recorder.messages  # the transcript this reply is recorded into
        self.blocks = BlockStream(self._language) if mode == "text" else None
        self.text_open = False
        self.started = False
        self.text: list[str] = []
        self.codes: list[Message] = []
        self.calls: list[Message] = []
        self.notes: list[str] = []
        self.live = prompts.CodeArgumentStream()  # the first tool call's code, shown as it streams
        self.live_code: str | None = None  # what of it went out; None until its block started
        self.dropped: list[Message] = []  # streamed code that the finished call turned out not to be
        self.usage = Usage(0, 0, 0.0)
        self._first = len(self.messages)
        self._tail = ""  # the end of the reply's text, to notice a loop
        #: the reply repeated one piece of text over and over: its reader stops reading it
        self.cut = False

    def _language(self, name: str | None) -> str:
        return name or "python"  # a bare fence: Open Interpreter's models mean Python

    def take(self, event: ModelEvent) -> Iterator[Chunk]:
        """Record one model event; yield the chunks it makes."""
        if isinstance(event, TextDelta):
            self.started = True
            self.text.append(event.text)
            self._tail = (self._tail + event.text)[-LOOP_TAIL:]
            self.cut = self.cut or looping_tail(self._tail)
            if self.blocks is not None:
                for chunk in self.blocks.feed(event.text):
                    yield self.recorder.emit(chunk)
            else:
                yield self.recorder.emit(Chunk("assistant", "message", event.text, start=not self.text_open))
                self.text_open = True
        elif isinstance(event, ToolCallDelta):
            yield from self._stream_call(event)
        elif isinstance(event, ToolCall):
            yield from self._end_text()
            repair = prompts.code_from_call(event.name, event.arguments, self.languages)
            if self.live_code is not None:  # calls come in order: this is the one that streamed
                yield from self._end_live(repair.code)
                if repair.code is None and repair.note:
                    self.notes.append(repair.note)
                return
            if repair.code is not None:
                self.calls.append(repair.code)
            elif repair.note:
                self.notes.append(repair.note)
        elif isinstance(event, Usage):
            self.usage = event

    def _stream_call(self, event: ToolCallDelta) -> Iterator[Chunk]:
        """Show the first execute call's code while its arguments stream."""
        if event.index != 0 or event.name != "execute" or self.live.done:
            return
        code = self.live.feed(event.arguments)
        language = self.live.language
        if language is None:
            return
        if self.live_code is None:
            yield from self._end_text()
            yield self.recorder.emit(Chunk("assistant", "code", None, language, start=True))
            self.live_code = ""
        if code:
            self.live_code += code
            yield self.recorder.emit(Chunk("assistant", "code", code, language))

    def _end_live(self, final: Message | None) -> Iterator[Chunk]:
        """Close the streamed code block; keep it if the whole call says the same, else use the call."""
        language = str(self.live.language)
        yield self.recorder.emit(Chunk("assistant", "code", None, language, end=True))
        streamed = self.messages[-1]
        self.live_code, self.live = None, prompts.CodeArgumentStream()
        self.live.done = True  # one streamed call per reply: later calls wait to run in order
        if final is None or (final.content, final.format) != (streamed.content, streamed.format):
            self.dropped.append(streamed)  # shown, but never run: it was cut off or read differently
            if final is not None:
                self.calls.append(final)

    def _end_text(self) -> Iterator[Chunk]:
        if self.blocks is not None:
            for chunk in self.blocks.finish():
                yield self.recorder.emit(chunk)
            self.blocks = BlockStream(self._language)
        elif self.text_open:
            yield self.recorder.emit(Chunk("assistant", "message", end=True))
            self.text_open = False

    def finish(self) -> Iterator[Chunk]:
        """Close open blocks; repair a tool call printed as text."""
        yield from self._end_text()
        if self.live_code is not None:  # the stream stopped inside the streamed call
            yield self.recorder.emit(Chunk("assistant", "code", None, str(self.live.language), end=True))
            self.live_code = None
        self.codes = [m for m in self.messages[self._first:] if m.type == "code" and m not in self.dropped]
        if not self.codes and not self.calls and not self.notes:
            repair = prompts.code_from_text("".join(self.text))
            if repair is not None and repair.code is not None:
                yield from self.recorder.emit_message(repair.code)
                self.codes = [repair.code]
