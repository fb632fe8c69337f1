"""Errors of the E2B backend, and the one place that maps the e2b SDK's exceptions to them.

    ExecutorError (executors.errors)
    ├── E2BConfigError (ValueError)            an E2BConfig field is out of range or malformed
    └── SandboxError                           a backend failed: infrastructure, not the code
        ├── E2BError                               E2B failed in a way not listed below
        ├── E2BSandboxLost                         the sandbox vanished mid-use ("sandbox not found")
        └── SandboxUnavailable                     the backend cannot be used at all
            ├── E2BKeyMissing (ValueError)             no API key was given
            ├── E2BAuthError (PermissionError)         E2B rejected the API key
            ├── E2BQuotaExceeded                       the account is out of quota or blocked
            ├── E2BRateLimited                         too many requests or concurrent sandboxes
            └── E2BNetworkError (ConnectionError)      E2B could not be reached (after retries)

`E2BSandboxLost` is reported as a `sandbox` error chunk and the next run gets
a new sandbox; a run never hangs on a sandbox that is gone.
"""

from __future__ import annotations

from executors.errors import ExecutorError, SandboxError, SandboxUnavailable

KEYS_URL = "https://e2b.dev/dashboard?tab=keys"


class E2BConfigError(ExecutorError, ValueError):
    """An E2BConfig field is out of range or malformed: the caller's mistake."""

    def __init__(self, field: str, expected: str, got: object) -> None:
        super().__init__(f"E2BConfig.{field} must be {expected}, got {got!r}")


class E2BError(SandboxError):
    """E2B failed in a way that has no more specific class."""


class E2BSandboxLost(SandboxError):
    """The sandbox is gone (killed, expired or lost by E2B); its state went with it."""


class E2BKeyMissing(SandboxUnavailable, ValueError):
    """No E2B API key was configured."""

    retryable = False

    def __init__(self) -> None:
        super().__init__(
            f"no E2B API key found - get one at {KEYS_URL} and set the E2B_API_KEY environment "
            "variable, or pass E2BConfig(api_key=...)"
        )


class E2BAuthError(SandboxUnavailable, PermissionError):
    """E2B rejected the API key."""

    retryable = False


class E2BQuotaExceeded(SandboxUnavailable):
    """The E2B account cannot start more sandboxes (quota, billing or a blocked team)."""


class E2BRateLimited(SandboxUnavailable):
    """E2B refused the request for now: too many requests or concurrent sandboxes."""


class E2BNetworkError(SandboxUnavailable, ConnectionError):
    """E2B could not be reached; worth retrying."""


def map_error(exc: BaseException, doing: str) -> SandboxError:
    """Our error for an exception the e2b SDK (or its HTTP stack) raised while `doing` something."""
    import httpx
    from connectrpc.errors import ConnectError
    from e2b import exceptions as e2b

    text = f"{doing}: {exc}"
    if isinstance(exc, e2b.AuthenticationException):
        return E2BAuthError(f"{text} - E2B rejected the API key; check E2B_API_KEY (keys are at {KEYS_URL})")
    if isinstance(exc, e2b.RateLimitException):
        return E2BRateLimited(f"{text} - wait and retry, or run fewer sandboxes at once")
    if isinstance(exc, (e2b.SandboxNotRunningException, e2b.SandboxNotFoundException)):
        return E2BSandboxLost(f"{text} - the E2B sandbox is gone with its state; the next run gets a new one")
    # a bare ConnectError gets past the SDK only when the connection broke and the sandbox may live
    if isinstance(exc, (e2b.ServiceBusyException, e2b.SandboxUnreachableException, httpx.TransportError,
                        ConnectError, ConnectionError, TimeoutError)):
        return E2BNetworkError(f"{text} - E2B could not be reached; check the network or https://status.e2b.dev")
    if isinstance(exc, e2b.SandboxException) and getattr(exc, "status_code", None) in (402, 403):
        return E2BQuotaExceeded(f"{text} - the E2B account cannot start sandboxes; see https://e2b.dev/dashboard")
    if isinstance(exc, e2b.TimeoutException):
        return E2BNetworkError(f"{text} - E2B did not answer in time")
    return E2BError(f"{text} ({type(exc).__name__})")
