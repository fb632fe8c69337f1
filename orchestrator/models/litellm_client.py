"""The model client: litellm, streamed, any provider; its errors mapped here and only here.

litellm is imported lazily (it takes seconds) with LITELLM_LOCAL_MODEL_COST_MAP
set, so neither `import orchestrator` nor the first call waits on the network.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from types import ModuleType
from typing import Any

from lmc.messages import Message
from orchestrator.errors import (
    ContextOverflow,
    MissingAPIKey,
    ModelAuthError,
    ModelError,
    ModelUnavailable,
    RateLimited,
    UnknownModel,
)

log = logging.getLogger(__name__)

#: The window assumed when litellm does not know the model.
DEFAULT_CONTEXT_WINDOW = 8192


def load_litellm() -> ModuleType:
    """litellm, imported on first use with its network lookups turned off."""
    # Why setdefault: the cost map download would block start-up offline; a user may still opt back in.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True  # it prints provider hints to stdout otherwise
    litellm.telemetry = False
    return litellm


@dataclass(frozen=True)
class ModelConfig:
    """How to reach one model."""

    model: str
    """litellm model name, e.g. gpt-4o, anthropic/claude-3-5-sonnet, openai/<name> for a local server."""
    api_base: str | None = None
    """Base URL of an OpenAI-compatible or provider endpoint."""
    api_key: str | None = None
    """API key; None lets litellm read the provider's environment variable."""
    mode: str = "auto"
    """tools (function calling), text (markdown code blocks) or auto (ask litellm)."""
    vision: bool | None = None
    """Send images; None asks litellm."""
    context_window: int | None = None
    """Window in tokens; None asks litellm."""
    temperature: float = 0.0
    """Sampling temperature."""
    max_output_tokens: int | None = None
    """Most tokens in one reply; None leaves it to the provider."""
    max_retries: int = 4
    """Retries of rate limits and transient failures."""
    retry_delay: float = 0.5
    """First backoff delay in seconds, doubled per retry."""
    request_timeout: float = 600.0
    """Seconds to wait for a response."""


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
    """Tokens and cost of one model call (cost 0.0 when litellm has no price for the model)."""

    prompt_tokens: int
    completion_tokens: int
    cost: float


ModelEvent = TextDelta | ToolCallDelta | ToolCall | Usage

_TRANSIENT = (
    "APIConnectionError",
    "Timeout",
    "InternalServerError",
    "ServiceUnavailableError",
    "BadGatewayError",
    "RateLimitError",
)


def map_error(exc: Exception, config: ModelConfig, lib: ModuleType) -> ModelError:
    """The one place where a litellm exception becomes ours."""
    model, e = config.model, lib.exceptions
    if isinstance(exc, e.ContextWindowExceededError):
        return ContextOverflow(f"the prompt exceeds {model}'s context window: {exc}", model=model)
    if isinstance(exc, e.AuthenticationError):
        return ModelAuthError(
            f"{model}'s provider refused the API key ({exc.message}); check --api-key or the provider's "
            "key variable", model=model)
    if isinstance(exc, e.NotFoundError):
        return UnknownModel(f"the provider does not know model {model!r} ({exc.message}); "
                            "check the name with the provider's model list", model=model)
    if isinstance(exc, e.RateLimitError):
        return RateLimited(f"{model} is still rate limited after {config.max_retries} retries; "
                           "wait, or lower the load", model=model)
    if isinstance(exc, tuple(getattr(e, n) for n in _TRANSIENT)):
        where = config.api_base or "its provider"
        return ModelUnavailable(f"{model} at {where} failed after {config.max_retries} retries "
                                f"({type(exc).__name__}: {exc}); is the server up?", model=model)
    message = getattr(exc, "message", str(exc))
    return ModelError(f"{model} failed: {type(exc).__name__}: {message}", model=model)


class ModelClient:
    """Streams one model's replies as TextDelta / ToolCall / Usage events."""

    def __init__(self, config: ModelConfig) -> None:
        self.config = config
        self._lib: ModuleType | None = None

    @property
    def lib(self) -> ModuleType:
        """litellm, imported on first use."""
        if self._lib is None:
            self._lib = load_litellm()
            self._check_model()
        return self._lib

    def _check_model(self) -> None:
        """Fail early with the fix: an unknown provider or a missing key."""
        lib, cfg = self._lib, self.config
        assert lib is not None
        try:
            provider = lib.get_llm_provider(cfg.model, api_base=cfg.api_base)[1]
        except lib.exceptions.BadRequestError:
            raise UnknownModel(
                f"litellm cannot tell which provider serves {cfg.model!r}; prefix it with the provider, "
                "e.g. openai/gpt-4o, anthropic/claude-3-5-sonnet-latest, ollama/llama3 "
                "(list: https://docs.litellm.ai/docs/providers)", model=cfg.model) from None
        if cfg.api_key is None and cfg.api_base is None:
            missing = lib.validate_environment(cfg.model).get("missing_keys") or []
            if missing:
                raise MissingAPIKey(
                    f"No key found for {cfg.model} ({provider}) - set the {' or '.join(missing)} "
                    "environment variable or pass --api-key", model=cfg.model)

    @property
    def mode(self) -> str:
        """tools or text: the configured mode, or what litellm says the model supports."""
        if self.config.mode != "auto":
            return self.config.mode
        return "tools" if self._supports("supports_function_calling") else "text"

    @property
    def vision(self) -> bool:
        """Whether images go to the model."""
        if self.config.vision is not None:
            return self.config.vision
        return self._supports("supports_vision")

    def _supports(self, what: str) -> bool:
        try:
            return bool(getattr(self.lib, what)(model=self.config.model))
        except self.lib.exceptions.ModelNotMappedError:
            return False

    @property
    def context_window(self) -> int:
        """The model's input window in tokens."""
        if self.config.context_window is not None:
            return self.config.context_window
        try:
            info = self.lib.get_model_info(self.config.model)
        except self.lib.exceptions.ModelNotMappedError:
            return DEFAULT_CONTEXT_WINDOW
        return int(info.get("max_input_tokens") or DEFAULT_CONTEXT_WINDOW)

    def count_tokens(self, messages: list[dict[str, Any]]) -> int:
        """Tokens of an OpenAI message list as litellm counts them."""
        return int(self.lib.token_counter(model=self.config.model, messages=messages))

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        """USD for a call, from litellm's price table; 0.0 for models it has no price for."""
        try:
            prompt, completion = self.lib.cost_per_token(
                model=self.config.model, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)
        except self.lib.exceptions.ModelNotMappedError:
            return 0.0
        return float(prompt + completion)

    def stream(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None
               ) -> Iterator[ModelEvent]:
        """Ask the model; yield text deltas as they come, then tool calls, then usage."""
        lib = self.lib
        response = self._open(messages, tools)
        calls: dict[int, dict[str, str]] = {}
        usage = None
        try:
            for chunk in response:
                usage = getattr(chunk, "usage", None) or usage
                if not chunk.choices:
                    continue
                delta = chunk.choices[0].delta
                if delta.content:
                    yield TextDelta(delta.content)
                for call in getattr(delta, "tool_calls", None) or []:
                    index, piece = _merge_call(calls, call)
                    if piece:
                        yield ToolCallDelta(index, calls[index]["name"], piece)
        except _api_error() as exc:
            raise map_error(exc, self.config, lib) from exc
        for index in sorted(calls):
            c = calls[index]
            yield ToolCall(c["id"] or f"call_{index}", c["name"], c["arguments"])
        prompt = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion = int(getattr(usage, "completion_tokens", 0) or 0)
        yield Usage(prompt, completion, self.cost(prompt, completion))

    def _open(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> Any:
        """Start a streamed completion, retrying rate limits and transient failures with backoff."""
        lib, cfg = self.lib, self.config
        kwargs: dict[str, Any] = dict(
            model=cfg.model, messages=messages, stream=True, temperature=cfg.temperature,
            stream_options={"include_usage": True}, timeout=cfg.request_timeout, num_retries=0)
        if cfg.api_base:
            kwargs["api_base"] = cfg.api_base
        if cfg.api_key:
            kwargs["api_key"] = cfg.api_key
        if tools:
            kwargs["tools"] = tools
        if cfg.max_output_tokens:
            kwargs["max_tokens"] = cfg.max_output_tokens
        retryable = tuple(getattr(lib.exceptions, n) for n in _TRANSIENT)
        for attempt in range(cfg.max_retries + 1):
            try:
                return lib.completion(**kwargs)
            except retryable as exc:
                if attempt == cfg.max_retries:
                    raise map_error(exc, cfg, lib) from exc
                delay = cfg.retry_delay * (2**attempt)
                log.warning("model %s: %s; retry %d/%d in %.1fs", cfg.model, type(exc).__name__,
                            attempt + 1, cfg.max_retries, delay)
                time.sleep(delay)
            except _api_error() as exc:
                raise map_error(exc, cfg, lib) from exc
        raise AssertionError("unreachable: the loop returns or raises")


def _api_error() -> type[Exception]:
    """The base of every error litellm raises for an API call (litellm's classes derive from openai's)."""
    import openai

    return openai.OpenAIError


def _merge_call(calls: dict[int, dict[str, str]], delta: Any) -> tuple[int, str]:
    """Fold one streamed tool-call delta into the call it belongs to; return its index and new arguments."""
    index = getattr(delta, "index", None) or 0
    call = calls.setdefault(index, {"id": "", "name": "", "arguments": ""})
    if getattr(delta, "id", None):
        call["id"] = delta.id
    function = getattr(delta, "function", None)
    piece = ""
    if function is not None:
        if getattr(function, "name", None):
            call["name"] = function.name
        piece = getattr(function, "arguments", None) or ""
        call["arguments"] += piece
    return index, piece


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
    text = message.content
    middle = len(text) - 2 * KEEP_ENDS
    return replace(message, content=text[:KEEP_ENDS] + TRIMMED_OUTPUT.format(n=middle) + text[-KEEP_ENDS:])
