"""What a conversation has spent: tokens, cost, model calls and wall time, against its budgets.

    report = interpreter.usage      # a UsageReport, also while a chat streams (another thread may read it)
    report.chat.tokens              # the current (or last) message: what the budgets are measured against
    report.total.cost               # the whole conversation, in USD; None when litellm has no price for the model
    report.to_dict()                # JSON-ready: what `lmc serve` returns under "usage"

The budgets (`max_steps`, `max_tokens`, `max_cost`) apply to each message, so `chat` is what they
compare with; `total` adds up every message since the conversation started (or was %reset). A
model's tokens count once its reply has ended (providers report usage last).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

from orchestrator.models.base import Model, Usage
from orchestrator.settings import Settings

__all__ = ["Budget", "Spent", "UsageMeter", "UsageReport", "has_price"]


@dataclass(frozen=True)
class Spent:
    """Tokens, cost, model calls and seconds spent."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = 0.0
    """USD; None when a call's model has no price in litellm's table (so the sum is unknown)."""
    steps: int = 0
    """Model calls made."""
    wall_time: float = 0.0
    """Seconds the chats ran (a running chat counts up to now)."""

    @property
    def tokens(self) -> int:
        """Prompt and completion tokens together (what `max_tokens` limits)."""
        return self.prompt_tokens + self.completion_tokens

    def plus(self, usage: Usage, priced: bool) -> Spent:
        """This and one more model call."""
        cost = self.cost + usage.cost if self.cost is not None and priced else None
        return dataclasses.replace(self, prompt_tokens=self.prompt_tokens + usage.prompt_tokens,
                                   completion_tokens=self.completion_tokens + usage.completion_tokens,
                                   cost=cost, steps=self.steps + 1)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields, with `tokens` beside the two counts."""
        return {**dataclasses.asdict(self), "tokens": self.tokens}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Spent:
        """`to_dict`'s fields back (others ignored; a wrongly typed one counts as 0, cost as unknown)."""
        def number(name: str, kind: type) -> Any:
            value = data.get(name, 0)
            return kind(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else kind(0)

        cost = data.get("cost", 0.0)
        return cls(number("prompt_tokens", int), number("completion_tokens", int),
                   float(cost) if isinstance(cost, (int, float)) and not isinstance(cost, bool) else None,
                   number("steps", int), number("wall_time", float))


@dataclass(frozen=True)
class Budget:
    """The limits of each message (None: no limit)."""

    max_steps: int
    max_tokens: int | None
    max_cost: float | None

    @classmethod
    def of(cls, settings: Settings) -> Budget:
        """The budgets a conversation's settings set."""
        return cls(settings.max_steps, settings.max_tokens, settings.max_cost)


@dataclass(frozen=True)
class UsageReport:
    """A conversation's spend: the current or last message (`chat`), the whole conversation (`total`)."""

    chat: Spent
    total: Spent
    budget: Budget
    running: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: {"chat": {...}, "total": {...}, "budget": {...}, "running": bool}."""
        return {"chat": self.chat.to_dict(), "total": self.total.to_dict(),
                "budget": dataclasses.asdict(self.budget), "running": self.running}


def has_price(model: Model, usage: Usage) -> bool:
    """Whether `usage.cost` is a price: the model says so (`has_price()`), or, if it cannot, the cost is not 0."""
    check = getattr(model, "has_price", None)
    return bool(check()) if callable(check) else usage.cost > 0


class UsageMeter:
    """Counts what a conversation's chats spend; thread-safe (a server reads it while the chat streams)."""

    def __init__(self, total: Spent | None = None, on_end: Callable[[Spent], None] | None = None) -> None:
        """`total`: what earlier chats spent (a resumed conversation); `on_end(total)` after each chat."""
        self._lock = threading.Lock()
        self._total = total or Spent()
        self._chat = Spent()
        self._started: float | None = None  # time.monotonic() at which the running chat began
        self._on_end = on_end

    def metered(self, chunks: Generator[Any, object, None]) -> Generator[Any, object, None]:
        """The chunks of one chat, its wall time counted from the first to the last (send() passes through)."""
        with self._lock:
            self._chat = Spent()
            self._started = time.monotonic()
        try:
            return (yield from chunks)
        finally:
            with self._lock:
                took = time.monotonic() - (self._started or time.monotonic())
                self._started = None
                self._chat = dataclasses.replace(self._chat, wall_time=took)
                self._total = total = dataclasses.replace(self._total, wall_time=self._total.wall_time + took)
            if self._on_end is not None:
                self._on_end(total)

    def called(self, usage: Usage, priced: bool) -> None:
        """One model call ended, having spent `usage` (`priced`: its cost is a real price)."""
        with self._lock:
            self._chat = self._chat.plus(usage, priced)
            self._total = self._total.plus(usage, priced)

    def report(self, budget: Budget) -> UsageReport:
        """The spend so far; a running chat's seconds count up to now."""
        with self._lock:
            chat, total, started = self._chat, self._total, self._started
        if started is None:
            return UsageReport(chat, total, budget, running=False)
        now = time.monotonic() - started
        return UsageReport(dataclasses.replace(chat, wall_time=now),
                           dataclasses.replace(total, wall_time=total.wall_time + now), budget, running=True)
