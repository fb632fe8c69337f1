"""The one place where a litellm (or openai, httpx) exception becomes ours, with an honest account.

An account says how many requests were really made, how far the reply got, and
what actually failed, found from the exception's types (never its text):

    connection refused / unreachable    nothing answered at the address
    HTTP <status>                       the server answered with an error
    timed out                           no data for stream_idle_timeout seconds (before or mid-stream)
    stream broken                       the connection closed before the reply ended
    malformed                           the server sent data that is not the API's JSON
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING

from orchestrator.errors import (
    ContextOverflow,
    ModelAuthError,
    ModelError,
    ModelUnavailable,
    RateLimited,
    UnknownModel,
)

if TYPE_CHECKING:
    from orchestrator.models.config import ModelConfig

#: litellm's exception names that a retry may cure (when no part of the reply has arrived yet)
TRANSIENT = (
    "APIConnectionError",
    "Timeout",
    "InternalServerError",
    "ServiceUnavailableError",
    "BadGatewayError",
    "RateLimitError",
)


@dataclass(frozen=True)
class Progress:
    """How far one model call got: requests sent (retries included) and stream chunks received."""

    requests: int = 1
    chunks: int = 0

    def said(self) -> str:
        """'1 request' / '5 requests (1 + 4 retries)', and the chunks if any arrived."""
        sent = "1 request" if self.requests == 1 else f"{self.requests} requests (1 + {self.requests - 1} retries)"
        if self.chunks:
            sent += f", after {self.chunks} stream chunk{'s' if self.chunks != 1 else ''} had arrived"
        return sent


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and everything behind it (litellm's original_exception, causes, contexts)."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 20:
        seen.append(current)
        behind = getattr(current, "original_exception", None)
        current = behind if isinstance(behind, BaseException) else current.__cause__ or current.__context__
    return seen


def idle_limit(config: ModelConfig) -> float:
    """Seconds of silence after which a reply is given up (never more than the whole reply may take)."""
    return min(config.stream_idle_timeout, config.request_timeout)


def what_failed(exc: BaseException, config: ModelConfig) -> tuple[str, str]:
    """What really went wrong and what to do, judged by the types in the exception's chain."""
    import httpx

    chain = _chain(exc)
    status = next((s for e in chain if isinstance(s := getattr(e, "status_code", None), int) and s >= 400), None)
    if any(isinstance(e, httpx.ConnectError | ConnectionRefusedError) for e in chain):
        return ("could not connect (connection refused or host unreachable)",
                "is the server up at that address? (check --api-base)")
    if any(isinstance(e, httpx.TimeoutException | TimeoutError) for e in chain):
        return (f"timed out: no data for {idle_limit(config):g} s",
                "raise LMC_STREAM_IDLE_TIMEOUT for a model that thinks long before it answers")
    if any(isinstance(e, json.JSONDecodeError) for e in chain):
        return "sent malformed data (a stream event that is not JSON)", "check the server's log"
    if any(isinstance(e, httpx.RemoteProtocolError | httpx.ReadError) for e in chain):
        return "closed the connection before the reply ended (stream broken)", "check the server's log"
    if status is not None:
        return f"answered HTTP {status} ({getattr(exc, 'message', exc)})", "the server is failing; try again later"
    return f"failed: {type(exc).__name__}: {getattr(exc, 'message', exc)}", "try again later"


def map_error(exc: Exception, config: ModelConfig, lib: ModuleType, progress: Progress = Progress()) -> ModelError:
    """The one place where a litellm exception becomes ours; `progress` says how far the call got."""
    model, e = str(config.model), lib.exceptions
    if isinstance(exc, e.ContextWindowExceededError):
        return ContextOverflow(f"the prompt exceeds {model}'s context window: {exc}", model=model)
    if isinstance(exc, e.AuthenticationError):
        return ModelAuthError(
            f"{model}'s provider refused the API key ({exc.message}); check --api-key or the provider's "
            "key variable", model=model)
    if isinstance(exc, e.NotFoundError):
        return UnknownModel(f"the provider does not know model {model!r} ({exc.message}); "
                            "check the name with the provider's model list", model=model)
    where = config.api_base or "its provider"
    if isinstance(exc, e.RateLimitError):
        return RateLimited(f"{model} at {where} was still rate limited after {progress.said()}; "
                           "wait, or lower the load", model=model)
    if isinstance(exc, tuple(getattr(e, n) for n in TRANSIENT)):
        what, fix = what_failed(exc, config)
        if progress.chunks:
            fix = f"not retried, part of the reply had already arrived; {fix}"
        return ModelUnavailable(f"{model} at {where} {what}; {progress.said()}; {fix}", model=model)
    message = getattr(exc, "message", str(exc))
    return ModelError(f"{model} failed after {progress.said()}: {type(exc).__name__}: {message}", model=model)


def total_timeout(config: ModelConfig, progress: Progress) -> ModelUnavailable:
    """The reply kept trickling in but did not end within request_timeout."""
    return ModelUnavailable(
        f"{config.model} did not finish its reply within {config.request_timeout:g} s (request_timeout); "
        f"{progress.said()}; raise LMC_REQUEST_TIMEOUT for long replies", model=str(config.model))
