"""The model client: litellm, streamed, any provider; its errors mapped here and only here.

litellm is imported lazily (it takes seconds) with LITELLM_LOCAL_MODEL_COST_MAP
set, so neither `import orchestrator` nor the first call waits on the network.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from types import ModuleType
from typing import Any

from orchestrator.errors import MissingAPIKey, SettingsError, UnknownModel
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
from orchestrator.models.config import MODES, ModelConfig
from orchestrator.models.guard import check_request_allowed
from orchestrator.models.litellm_errors import TRANSIENT, Progress, idle_limit, map_error, total_timeout
from orchestrator.models.openai_wire import chunks as raw_chunks
from orchestrator.models.openai_wire import raw_response, shared_client

__all__ = ["DEFAULT_CONTEXT_WINDOW", "MODES", "ModelClient", "ModelConfig", "load_litellm", "map_error"]

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


class ModelClient:
    """The Model for any litellm provider: streams replies as TextDelta / ToolCall / Usage events."""

    def __init__(self, config: ModelConfig) -> None:
        if config.model is None:
            raise SettingsError("ModelClient needs a model name, e.g. ModelConfig('gpt-4o'); with none, "
                                "orchestrator.models.local.client_for(settings) serves the embedded model")
        self.config = config
        self.name: str = config.model
        self._lib: ModuleType | None = None
        self._provider = ""  # litellm's provider for the model, found with the first use of lib
        self._facts: dict[str, bool | int] = {}  # litellm's answers about the model (they do not change)

    def __getstate__(self) -> dict[str, Any]:
        # Why: a client travels pickled to a Ray session actor; the litellm module is re-imported there.
        return {**self.__dict__, "_lib": None}

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
            provider = self._provider = lib.get_llm_provider(self.name, api_base=cfg.api_base)[1]
        except lib.exceptions.BadRequestError:
            raise UnknownModel(
                f"litellm cannot tell which provider serves {self.name!r}; prefix it with the provider, "
                "e.g. openai/gpt-4o, anthropic/claude-3-5-sonnet-latest, ollama/llama3 "
                "(list: https://docs.litellm.ai/docs/providers)", model=self.name) from None
        if cfg.api_key is None and cfg.api_base is None:
            missing = lib.validate_environment(self.name).get("missing_keys") or []
            if missing:
                raise MissingAPIKey(
                    f"No key found for {self.name} ({provider}) - set the {' or '.join(missing)} "
                    "environment variable or pass --api-key", model=self.name)

    @property
    def mode(self) -> Mode:
        """tools or text: the configured mode, or what litellm says the model supports."""
        if self.config.mode != "auto":
            return "tools" if self.config.mode == "tools" else "text"
        return "tools" if self._supports("supports_function_calling") else "text"

    @property
    def vision(self) -> bool:
        """Whether images go to the model."""
        if self.config.vision is not None:
            return self.config.vision
        return self._supports("supports_vision")

    def _supports(self, what: str) -> bool:
        # Why remembered: asked every step, and each answer is a walk of litellm's model table
        if what not in self._facts:
            try:
                self._facts[what] = bool(getattr(self.lib, what)(model=self.name))
            except self.lib.exceptions.ModelNotMappedError:
                self._facts[what] = False
        return bool(self._facts[what])

    @property
    def context_window(self) -> int:
        """The model's input window in tokens."""
        if self.config.context_window is not None:
            return self.config.context_window
        if "context_window" not in self._facts:
            try:
                info = self.lib.get_model_info(self.name)
            except self.lib.exceptions.ModelNotMappedError:
                info = {}
            self._facts["context_window"] = int(info.get("max_input_tokens") or DEFAULT_CONTEXT_WINDOW)
        return int(self._facts["context_window"])

    def count_tokens(self, messages: OpenAIMessages) -> int:
        """Tokens of an OpenAI message list as litellm counts them."""
        return int(self.lib.token_counter(model=self.name, messages=messages))

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        """USD for a call, from litellm's price table; 0.0 for models it has no price for."""
        try:
            prompt, completion = self.lib.cost_per_token(
                model=self.name, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)
        except self.lib.exceptions.ModelNotMappedError:
            return 0.0
        return float(prompt + completion)

    def has_price(self) -> bool:
        """Whether litellm's price table knows this model (else cost() is 0.0 for want of a price)."""
        try:
            self.lib.cost_per_token(model=self.name, prompt_tokens=0, completion_tokens=0)
        except self.lib.exceptions.ModelNotMappedError:
            return False
        return True

    def stream(self, messages: OpenAIMessages, tools: OpenAITools | None = None) -> Iterator[ModelEvent]:
        """Ask the model; yield text deltas as they come, then tool calls, then usage."""
        lib, cfg = self.lib, self.config
        started = time.monotonic()
        response, requests = self._open(messages, tools)
        http = raw_response(response, lib)
        calls: dict[int, dict[str, str]] = {}
        usage: tuple[int, int] = (0, 0)
        chunks = 0
        try:
            for content, deltas, used in (_raw_deltas(http, lib, self.name, self._provider) if http is not None
                                           else _wrapper_deltas(response)):
                chunks += 1
                if time.monotonic() - started > cfg.request_timeout:
                    raise total_timeout(cfg, Progress(requests, chunks))
                usage = used or usage
                if content:
                    yield TextDelta(content)
                for index, call_id, name, piece in deltas:
                    _merge_call(calls, index, call_id, name, piece)
                    if piece:
                        yield ToolCallDelta(index, calls[index]["name"], piece)
        except _api_error() as exc:
            raise map_error(exc, cfg, lib, Progress(requests, chunks)) from exc
        finally:
            _close(response)  # a stream abandoned by its reader frees its connection
        for index in sorted(calls):
            c = calls[index]
            yield ToolCall(c["id"] or f"call_{index}", c["name"], c["arguments"])
        prompt, completion = usage
        yield Usage(prompt, completion, self.cost(prompt, completion))

    def request_options(self) -> dict[str, Any]:
        """Keyword arguments of every completion request beyond the messages (a subclass may add some)."""
        import httpx

        cfg = self.config
        # Why an httpx.Timeout: a float is applied to every read, so a silent stream waited the whole
        # request_timeout; the read timeout is the idle limit, the total is checked per chunk in stream().
        idle = idle_limit(cfg)
        timeout = httpx.Timeout(idle, read=idle)
        kwargs: dict[str, Any] = dict(
            model=self.name, stream=True, temperature=cfg.temperature,
            stream_options={"include_usage": True}, timeout=timeout, num_retries=0)
        if cfg.api_base:
            kwargs["api_base"] = cfg.api_base
        if cfg.api_key:
            kwargs["api_key"] = cfg.api_key
        if cfg.max_output_tokens:
            kwargs["max_tokens"] = cfg.max_output_tokens
        return kwargs

    def _open(self, messages: OpenAIMessages, tools: OpenAITools | None) -> tuple[Any, int]:
        """Start a streamed completion, retrying rate limits and transient failures with backoff.

        Returns the stream and how many requests it took.
        """
        check_request_allowed(self.name, self.config.api_base)
        lib, cfg = self.lib, self.config
        kwargs = {**self.request_options(), "messages": messages}
        if tools:
            kwargs["tools"] = tools
        if self._provider == "openai" and cfg.api_base and cfg.api_key:
            kwargs["client"] = shared_client(cfg.api_base, cfg.api_key)  # one connection pool, not one per call
        retryable = tuple(getattr(lib.exceptions, n) for n in TRANSIENT)
        for attempt in range(cfg.max_retries + 1):
            try:
                return lib.completion(**kwargs), attempt + 1
            except retryable as exc:
                if attempt == cfg.max_retries:
                    raise map_error(exc, cfg, lib, Progress(attempt + 1)) from exc
                delay = cfg.retry_delay * (2**attempt)
                log.warning("model %s: %s; retry %d/%d in %.1fs", self.name, type(exc).__name__,
                            attempt + 1, cfg.max_retries, delay)
                time.sleep(delay)
            except _api_error() as exc:
                raise map_error(exc, cfg, lib, Progress(attempt + 1)) from exc
        raise AssertionError("unreachable: the loop returns or raises")


def _close(response: Any) -> None:
    """Close a litellm stream's HTTP response if it has one (litellm's wrapper does not close itself)."""
    inner = getattr(response, "completion_stream", None)
    close = getattr(inner, "close", None) or getattr(response, "close", None)
    if callable(close):
        try:
            close()
        except Exception as exc:  # closing is best effort: the reply is already over or abandoned
            log.debug("closing the model stream: %s", exc)


def _api_error() -> type[Exception]:
    """The base of every error litellm raises for an API call (litellm's classes derive from openai's)."""
    import openai

    return openai.OpenAIError


#: one chunk's share of a reply: its text, its tool-call pieces (index, id, name, arguments) and usage
Delta = tuple[str | None, list[tuple[int, str, str, str]], tuple[int, int] | None]


def _wrapper_deltas(response: Any) -> Iterator[Delta]:
    """The chunks of litellm's stream wrapper (pydantic objects), as Deltas."""
    for chunk in response:
        used = getattr(chunk, "usage", None)
        usage = (int(getattr(used, "prompt_tokens", 0) or 0), int(getattr(used, "completion_tokens", 0) or 0)
                 ) if used else None
        if not chunk.choices:
            yield None, [], usage
            continue
        delta = chunk.choices[0].delta
        calls = []
        for call in getattr(delta, "tool_calls", None) or []:
            function = getattr(call, "function", None)
            calls.append((getattr(call, "index", None) or 0, getattr(call, "id", None) or "",
                          getattr(function, "name", None) or "", getattr(function, "arguments", None) or ""))
        yield delta.content, calls, usage


def _raw_deltas(http: Any, lib: ModuleType, model: str, provider: str) -> Iterator[Delta]:
    """The chunks of an OpenAI event stream read off the wire (openai_wire), as Deltas."""
    for chunk in raw_chunks(http, lib, model, provider):
        used = chunk.get("usage")
        usage = (int(used.get("prompt_tokens") or 0), int(used.get("completion_tokens") or 0)) if used else None
        choices = chunk.get("choices")
        if not choices:
            yield None, [], usage
            continue
        delta = choices[0].get("delta") or {}
        calls = []
        for call in delta.get("tool_calls") or []:
            function = call.get("function") or {}
            calls.append((call.get("index") or 0, call.get("id") or "", function.get("name") or "",
                          function.get("arguments") or ""))
        yield delta.get("content"), calls, usage


def _merge_call(calls: dict[int, dict[str, str]], index: int, call_id: str, name: str, piece: str) -> None:
    """Fold one streamed tool-call delta into the call it belongs to."""
    call = calls.setdefault(index, {"id": "", "name": "", "arguments": ""})
    if call_id:
        call["id"] = call_id
    if name:
        call["name"] = name
    call["arguments"] += piece
