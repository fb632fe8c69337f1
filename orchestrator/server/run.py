"""Run the app on uvicorn, on a socket bound here so that port 0 works and the URL is known first."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from orchestrator.server.config import ServerConfig
from orchestrator.server.errors import BadRequest
from orchestrator.server.tokens import Tokens
from orchestrator.settings import Settings

if TYPE_CHECKING:
    from starlette.routing import BaseRoute

log = logging.getLogger(__name__)
#: the open files limit asked for when the hard limit is unlimited
NOFILE_IF_UNLIMITED = 65536


def bind(config: ServerConfig) -> socket.socket:
    """A listening socket on the configured host and port; BadRequest if it cannot be had."""
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # accepted connections inherit it: without it a run's small frames wait on the client's
    # delayed ACK (Nagle), about 40 ms per WebSocket run here instead of 5
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((config.host, config.port))
    except OSError as exc:
        sock.close()
        raise BadRequest(f"cannot listen on {config.host}:{config.port} ({exc.strerror}); "
                         "choose another with --port (0 picks a free one)") from None
    sock.listen(2048)
    return sock


def raise_file_limit() -> int:
    """Raise this process's soft limit of open files to its hard limit; the soft limit now.

    A streaming client holds a socket, and a local computer three pipes to its agent: under the
    common default of 1024 a server stops near 330 clients with local computers (accept() fails
    with EMFILE and the next client waits), far below what one process serves (bench_server).
    """
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, NOFILE_IF_UNLIMITED)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError) as exc:
            log.warning("could not raise the open files limit from %s to %s (%s); with many clients, raise it "
                        "with `ulimit -n` before lmc serve", soft, wanted, exc)
    return int(soft)


def url_of(sock: socket.socket) -> str:
    """The http:// URL a bound socket serves."""
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def serve(config: ServerConfig, tokens: Tokens, settings: Settings,
          ready: Callable[[str], None] = lambda url: None, extra_routes: Sequence[BaseRoute] = ()) -> None:
    """Serve until interrupted; `ready(url)` is called once the socket listens; `extra_routes` are plug-ins'."""
    import uvicorn

    from orchestrator.server.app import create_app

    sock = bind(config)
    log.debug("open files limit: %s", raise_file_limit())
    app = create_app(config, tokens, settings, extra_routes)
    server = uvicorn.Server(uvicorn.Config(
        app, ws_max_size=config.max_body, log_level="info", timeout_graceful_shutdown=5,
        proxy_headers=False, server_header=False))
    ready(url_of(sock))
    server.run(sockets=[sock])
