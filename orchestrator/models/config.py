"""How to reach one model: the settings a ModelClient is made from.

Its own module so that the client and its error mapping (litellm_errors) both read it without
importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.errors import SettingsError

#: How a model may ask for code: function calling, markdown blocks, or whichever litellm says it supports.
MODES = ("auto", "tools", "text")


@dataclass(frozen=True)
class ModelConfig:
    """How to reach one model (Settings holds one; the CLI's model flags fill it)."""

    model: str | None = None
    """litellm model name (gpt-4o, anthropic/claude-3-5-sonnet, openai/<name> for a local server) or a .gguf
    path; None uses the embedded local model."""
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
    """Seconds for a whole reply, from the request to its last chunk."""
    stream_idle_timeout: float = 120.0
    """Seconds without any data from the model (before its first chunk or between two) before it is given up."""

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise SettingsError(f"unknown mode {self.mode!r}; known: {', '.join(MODES)}")
        for name in ("request_timeout", "stream_idle_timeout"):
            value = getattr(self, name)
            if not value > 0:
                raise SettingsError(f"{name} must be more than 0 seconds, got {value!r}")
