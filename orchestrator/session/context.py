"""Fitting a transcript to the model's context window: old images first, then long outputs, then old turns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from lmc.messages import Message
from orchestrator.errors import ContextOverflow

#: What stands in for the middle of a long console output once the context is trimmed.
TRIMMED_OUTPUT = "\n[... {n} characters of output trimmed to fit the context window ...]\n"
#: Characters kept at each end of a trimmed output.
KEEP_ENDS = 200


def fit_to_window(messages: list[Message], count: Callable[[Message], int], window: int,
                  fixed: int = 0, reserve: float = 0.2) -> list[Message]:
    """The transcript trimmed to fit `window` tokens less a reply reserve; the transcript is not changed.

    `count` gives one message's tokens and `fixed` those of what is always sent
    (the system message, tools). Old images go first (oldest first), then the
    middle of long console outputs, then whole messages from before the last
    user message. The last user message is always kept. ContextOverflow when
    even that is too long.
    """
    budget = int(window * (1 - reserve)) - fixed
    sizes = [count(m) for m in messages]
    total = sum(sizes)
    if total <= budget:
        return messages
    last_user = max((i for i, m in enumerate(messages) if m.role == "user"), default=-1)
    view: list[Message | None] = list(messages)
    steps = [
        *[(i, None) for i, m in enumerate(messages) if m.type == "image" and i != last_user],
        *[(i, _elided(m)) for i, m in enumerate(messages) if _long_output(m)],
        *[(i, None) for i in range(max(last_user, 0))],
    ]
    for i, replacement in steps:
        if view[i] is None:
            continue
        view[i] = replacement
        new_size = 0 if replacement is None else count(replacement)
        total += new_size - sizes[i]
        sizes[i] = new_size
        if total <= budget:
            return [m for m in view if m is not None]
    raise ContextOverflow(
        f"the last message alone needs more than {budget} of the {window} tokens left after the system "
        "message; shorten it, or use a model with a larger window (--context-window if the model's is bigger)")


def _long_output(message: Message) -> bool:
    return message.type == "console" and isinstance(message.content, str) and len(
        message.content) > 3 * KEEP_ENDS


def _elided(message: Message) -> Message:
    text = message.text
    middle = len(text) - 2 * KEEP_ENDS
    return replace(message, content=text[:KEEP_ENDS] + TRIMMED_OUTPUT.format(n=middle) + text[-KEEP_ENDS:])
