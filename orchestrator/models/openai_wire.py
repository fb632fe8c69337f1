"""A streamed reply in OpenAI's wire format, read straight off the HTTP response litellm opened.

litellm opens every request (provider, parameters, key, its error classes, the request's own
retries). For the OpenAI wire format (openai, any OpenAI-compatible server) its stream wrapper
then rebuilds each chunk as pydantic objects, prices the reply several times and deep-copies it
for its loggers: ~2 ms of CPU per chunk on a 2-core machine, more than the rest of an agent step.
When no litellm callback is registered nobody reads that work, so the server-sent events are read
here as JSON instead (`raw_response`, `chunks`), and the connection is drained to its end so it
goes back to the pool (openai's own Stream closes it at [DONE]). A registered callback, another
provider's stream or an unknown HTTP library keeps litellm's wrapper: same events, slower.

`shared_client` is one OpenAI client (one httpx connection pool) per process and endpoint, handed
to litellm for every request to that endpoint instead of a client per request.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from types import ModuleType
from typing import Any

#: litellm's callback lists: any entry means litellm's own stream wrapper must see every chunk
_CALLBACK_LISTS = ("callbacks", "success_callback", "_async_success_callback", "input_callback",
                   "_async_input_callback", "failure_callback", "_async_failure_callback")
#: connections one process keeps to one endpoint: enough for a fleet's sessions on one node
MAX_CONNECTIONS = 4096
KEEPALIVE_CONNECTIONS = 512

_clients: dict[tuple[str, str], Any] = {}
_clients_lock = threading.Lock()


def shared_client(api_base: str, api_key: str) -> Any:
    """The process's openai.OpenAI client for one endpoint and key (created on first use)."""
    key = (api_base, api_key)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            import httpx
            import openai
            from litellm.llms.custom_httpx.http_handler import get_ssl_configuration

            # The client litellm would build for this request (httpx, its SSL settings, redirects), with
            # room for a fleet's connections. Why max_retries=0: ModelClient retries, and litellm may;
            # a third layer would multiply them. Timeouts are set per request (ModelClient.request_options).
            limits = httpx.Limits(max_connections=MAX_CONNECTIONS, max_keepalive_connections=KEEPALIVE_CONNECTIONS)
            http = httpx.Client(verify=get_ssl_configuration(), follow_redirects=True, limits=limits)
            # openai's stubs name its own httpx fork; litellm hands it an httpx.Client the same way
            client = openai.OpenAI(api_key=api_key, base_url=api_base, max_retries=0,
                                   http_client=http)  # type: ignore[arg-type]
            _clients[key] = client
        return client


def raw_response(response: Any, lib: ModuleType) -> Any:
    """The httpx.Response under a litellm stream when its events may be read here, else None."""
    import httpx
    import openai

    if any(getattr(lib, name, None) for name in _CALLBACK_LISTS):
        return None
    inner = getattr(response, "completion_stream", None)
    if not isinstance(inner, openai.Stream):
        return None
    http = inner.response
    # Why only httpx's: the error mapping (litellm_errors.what_failed) knows httpx's exception types
    return http if isinstance(http, httpx.Response) else None


def chunks(http: Any, lib: ModuleType, model: str, provider: str) -> Iterator[dict[str, Any]]:
    """The stream's chunk objects as dicts; transport and protocol failures raised as litellm's errors."""
    import httpx

    done = False
    try:
        for line in http.iter_lines():  # read to the end even after [DONE]: then the connection is reused
            if done or not line.startswith("data:"):
                continue  # blank separators, comments, `event:` lines
            data = line[5:].strip()
            if data == "[DONE]":
                done = True
                continue
            chunk = json.loads(data)
            if isinstance(chunk, dict) and chunk.get("error"):
                error = chunk["error"]
                message = error.get("message") if isinstance(error, dict) else str(error)
                raise lib.exceptions.APIError(500, f"error event in the stream: {message}", provider, model)
            yield chunk
    except httpx.TimeoutException as exc:
        raise lib.exceptions.Timeout(f"no data from the stream: {exc!r}", model, provider) from exc
    except (httpx.HTTPError, json.JSONDecodeError) as exc:
        raise lib.exceptions.APIConnectionError(f"the stream broke: {exc!r}", provider, model) from exc
