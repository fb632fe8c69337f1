"""The Model seam: what a conversation asks of a model, and the events a streamed reply is made of.

    Model (Protocol)
    ├── ModelClient        litellm over HTTP, any provider (litellm_client.py)
    ├── LocalModelClient   the embedded GGUF server on 127.0.0.1 (local.py)
    └── InProcessModel     in-process, no HTTP (testing.py)
        ├── FunctionModel  a function of the messages
        └── ScriptedModel  a list of replies played in order

A reply streams as TextDelta pieces, ToolCallDelta pieces while a function
call's arguments arrive, one ToolCall per finished call, and one Usage last.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

#: How a model asks for code: function calling, or markdown code blocks.
Mode = Literal["tools", "text"]
#: OpenAI chat messages and tool schemas, as litellm takes them.
OpenAIMessages = list[dict[str, Any]]
OpenAITools = list[dict[str, Any]]


@dataclass(frozen=True)
class TextDelta:
    """A piece of the model's visible text."""

    text: str


@dataclass(frozen=True)
class ToolCallDelta:
    """A piece of a function call's arguments as it streams (the call's `index` in the reply)."""

    index: int
    name: str
    arguments: str


@dataclass(frozen=True)
class ToolCall:
    """One complete function call the model made."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class Usage:
    """Tokens and cost of one model call (cost 0.0 when there is no price for the model)."""

    prompt_tokens: int
    completion_tokens: int
    cost: float

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.prompt_tokens + other.prompt_tokens, self.completion_tokens + other.completion_tokens,
                     self.cost + other.cost)


ModelEvent = TextDelta | ToolCallDelta | ToolCall | Usage


@runtime_checkable
class Model(Protocol):
    """What the Interpreter needs of a model: its shape, a token count, and a streamed reply."""

    @property
    def mode(self) -> Mode:
        """tools (function calling) or text (markdown code blocks)."""

    @property
    def vision(self) -> bool:
        """Whether images are sent to the model."""

    @property
    def context_window(self) -> int:
        """The model's input window in tokens."""

    def count_tokens(self, messages: OpenAIMessages) -> int:
        """Tokens of an OpenAI message list, as this model counts them."""

    def stream(self, messages: OpenAIMessages, tools: OpenAITools | None = None) -> Iterator[ModelEvent]:
        """Ask the model; yield its reply as events, Usage last."""
