"""Models that run in-process, no HTTP and no key: a function of the messages, or a script of replies.

Like pydantic-ai's FunctionModel/TestModel and llm's mock model. They speak the
same script as the scripted HTTP server (orchestrator/models/script.py):

    from orchestrator.models.script import text, tool_call
    from orchestrator.models.testing import ScriptedModel

    model = ScriptedModel([tool_call("python", "print(2 + 2)"), text("It is 4.")])
    Interpreter(settings, model=model).chat("what is 2 + 2?")
    assert model.requests[-1][-1]["role"] == "tool"

In text mode a reply's execute calls become markdown code blocks, as a text-mode
model would write them. Use the scripted server instead when the test is about
litellm or HTTP (errors, retries, streaming over the wire).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator

from orchestrator.errors import ContextOverflow, ModelError, ModelUnavailable, RateLimited
from orchestrator.models.base import (
    Mode,
    ModelEvent,
    OpenAIMessages,
    OpenAITools,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from orchestrator.models.script import Reply, estimated_usage, http_error, prompt_tokens

#: A model's behaviour: the messages (and tool schemas) it is sent -> its reply.
ReplyFunction = Callable[[OpenAIMessages, OpenAITools | None], Reply]


class InProcessModel:
    """A Model in this process: `reply()` gives the whole reply, streamed as a real model's would be."""

    def __init__(self, *, mode: Mode = "tools", vision: bool = True, context_window: int = 65536,
                 name: str = "in-process") -> None:
        self.name = name
        self._mode: Mode = mode
        self._vision = vision
        self._window = context_window
        #: every message list this model was sent, in order
        self.requests: list[OpenAIMessages] = []

    @property
    def mode(self) -> Mode:
        """tools or text, as constructed."""
        return self._mode

    @property
    def vision(self) -> bool:
        """Whether images are sent, as constructed."""
        return self._vision

    @property
    def context_window(self) -> int:
        """The window in tokens, as constructed."""
        return self._window

    def count_tokens(self, messages: OpenAIMessages) -> int:
        """The scripted estimate: characters / 4."""
        return prompt_tokens(messages)

    def stream(self, messages: OpenAIMessages, tools: OpenAITools | None = None) -> Iterator[ModelEvent]:
        """The function's reply for these messages, streamed as a real model's would be."""
        self.requests.append(messages)
        reply = self.reply(messages, tools)
        if reply.delay:
            time.sleep(reply.delay)  # a slow model, as the scripted server plays it
        if reply.status != 200:
            raise _error(reply, self.name)
        if prompt_tokens(messages) > self._window:
            raise ContextOverflow(f"the prompt exceeds {self.name}'s window of {self._window} tokens",
                                  model=self.name)
        yield from _events(reply, self._mode)
        if reply.fault == "stall":
            time.sleep(reply.stall)  # silent mid-stream, as the scripted server plays it
        elif reply.fault is not None:
            raise ModelUnavailable(f"{self.name}'s stream broke mid-reply (scripted fault {reply.fault!r})",
                                   model=self.name)
        usage = estimated_usage(reply, messages)
        yield Usage(usage["prompt_tokens"], usage["completion_tokens"], 0.0)

    def reply(self, messages: OpenAIMessages, tools: OpenAITools | None) -> Reply:
        """The whole reply to these messages."""
        raise NotImplementedError


class FunctionModel(InProcessModel):
    """A Model whose replies are computed by a Python function of the messages (and tool schemas)."""

    def __init__(self, function: ReplyFunction, *, mode: Mode = "tools", vision: bool = True,
                 context_window: int = 65536) -> None:
        super().__init__(mode=mode, vision=vision, context_window=context_window, name="function")
        self.function = function

    def reply(self, messages: OpenAIMessages, tools: OpenAITools | None) -> Reply:
        """What the function says."""
        return self.function(messages, tools)


class ScriptedModel(InProcessModel):
    """A Model that plays a list of replies in order (then `default`, or an error naming the fix)."""

    def __init__(self, script: Iterable[Reply] = (), *, default: Reply | None = None, mode: Mode = "tools",
                 vision: bool = True, context_window: int = 65536) -> None:
        super().__init__(mode=mode, vision=vision, context_window=context_window, name="scripted")
        self.script = list(script)
        self.default = default
        self.served = 0
        self._lock = threading.Lock()

    def add(self, *replies: Reply) -> None:
        """Append replies to the end of the script."""
        with self._lock:
            self.script.extend(replies)

    def __getstate__(self) -> dict[str, object]:
        # Why: a ScriptedModel travels pickled to a Ray session actor; a lock cannot.
        return {k: v for k, v in self.__dict__.items() if k != "_lock"}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def reply(self, messages: OpenAIMessages, tools: OpenAITools | None) -> Reply:
        """The next reply of the script."""
        with self._lock:
            if self.served < len(self.script):
                self.served += 1
                return self.script[self.served - 1]
        if self.default is not None:
            return self.default
        return http_error(400, f"scripted model: script exhausted after {len(self.script)} replies; "
                               "add more with ScriptedModel.add() or pass default=")


def _events(reply: Reply, mode: Mode) -> Iterator[ModelEvent]:
    """A reply as stream events: tool calls as calls (tools mode) or as markdown blocks (text mode)."""
    text = reply.text
    calls = reply.tool_calls
    if mode == "text":
        text += "".join(_as_markdown(call.arguments) for call in calls if call.name == "execute")
        calls = ()
    for i in range(0, len(text), max(1, reply.chunk_size)):
        yield TextDelta(text[i:i + reply.chunk_size])
    for index, call in enumerate(calls):
        yield ToolCallDelta(index, call.name, call.arguments)
    for index, call in enumerate(calls):
        yield ToolCall(call.id or f"call_{index}", call.name, call.arguments)


def _as_markdown(arguments: str) -> str:
    """An execute call's code as the fenced block a text-mode model writes."""
    args = json.loads(arguments)
    return f"\n```{args.get('language', '')}\n{args.get('code', '')}\n```\n"


def _error(reply: Reply, model: str) -> ModelError:
    """A scripted error reply as the error litellm's mapping would raise for that status."""
    message = f"{model} answered {reply.status}: {reply.error_message}"
    if reply.error_code == "context_length_exceeded":
        return ContextOverflow(message, model=model)
    if reply.status == 429:
        return RateLimited(message, model=model)
    if reply.status >= 500:
        return ModelUnavailable(message, model=model)
    return ModelError(message, model=model)
