"""`lmc serve`: computers and conversations over HTTP, SSE and WebSocket (needs `pip install 'lmc[serve]'`)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

#: the exit code of a missing optional dependency, as a usage error
EXIT_USAGE = 2
#: where plug-ins (`lmc bench`: --bench-dir) put `make(args) -> routes` on the serve parser's defaults
ROUTES = "serve_routes"


def register(sub: Any) -> None:
    """Add the `serve` subcommand."""
    p = sub.add_parser(
        "serve",
        help="serve computers and conversations over HTTP/WebSocket (token required)",
        description="Serve lmc over HTTP, SSE and WebSocket. Every route needs a token: the first start "
        "makes one (printed once, stored 0600 under your config dir); --token-file names your own.",
    )
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1); any other needs --token-file")
    p.add_argument("--port", type=int, default=8765, help="TCP port (default 8765; 0 picks a free one)")
    p.add_argument("--token-file", type=Path, default=None,
                   help="file of accepted tokens, one a line, mode 0600 (default: <config dir>/lmc/serve-tokens)")
    p.add_argument("--idle-timeout", type=float, default=600.0,
                   help="close a computer or conversation unused this many seconds (default 600)")
    p.add_argument("--max-body", type=int, default=1024 * 1024, help="largest request body in bytes (default 1 MiB)")
    p.add_argument("--max-upload", type=int, default=100 * 1024 * 1024,
                   help="largest file upload in bytes (default 100 MiB)")
    p.add_argument("--max-desktops", type=int, default=4,
                   help="virtual desktops (\"desktop\": true) this server keeps at once, each an Xvfb and "
                   "an x11vnc (default 4); with --ray the cluster's `display` slots are the limit instead")
    p.add_argument("--allow-origin", action="append", default=[], metavar="ORIGIN",
                   help="a web origin (https://host:port) whose pages may open WebSockets; repeatable")
    p.add_argument("--ray", action="store_true",
                   help="keep computers and conversations in Ray actors, so every `lmc serve --ray` on the "
                   "cluster serves them (RAY_ADDRESS picks the cluster; default: a local Ray)")
    p.add_argument("--address", default=None, metavar="ADDR",
                   help="the Ray cluster to join (host:port of its head, or 'auto'); implies --ray")
    p.add_argument("--novnc-dir", type=Path, default=Path("/usr/share/novnc"), metavar="DIR",
                   help="noVNC's files for the console's live desktop view (default /usr/share/novnc, Debian's "
                   "novnc package); a missing folder makes the console show screenshots instead")
    p.set_defaults(handler=serve_command, **{ROUTES: []})


def serve_command(args: argparse.Namespace) -> int:
    """Resolve the settings and tokens, then serve until interrupted."""
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        print(f"lmc: error: lmc serve needs its extra ({exc.name} is missing); "
              "install it with: pip install 'lmc[serve]'", file=sys.stderr)
        return EXIT_USAGE
    from orchestrator.server import tokens as token_store
    from orchestrator.server.config import ServerConfig
    from orchestrator.server.run import serve
    from orchestrator.settings import resolve

    config = ServerConfig(host=args.host, port=args.port, token_file=args.token_file,
                          idle_timeout=args.idle_timeout, max_body=args.max_body, max_upload=args.max_upload,
                          max_desktops=args.max_desktops,
                          allowed_origins=tuple(o.rstrip("/") for o in args.allow_origin),
                          ray=args.ray, ray_address=args.address, novnc_dir=args.novnc_dir)
    settings = resolve()
    if config.token_file is not None:
        tokens, made = token_store.load(config.token_file), None
    else:
        path = token_store.default_token_file()
        tokens, made = token_store.load_or_create(path)
        if made is not None:
            print(f"lmc serve: made a token (shown this once; it is kept in {path}):\n  {made}", flush=True)
        else:
            print(f"lmc serve: tokens from {path}", flush=True)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    extra = [route for make in getattr(args, ROUTES) for route in make(args)]
    serve(config, tokens, settings, ready=lambda url: print(f"lmc serve: listening on {url}", flush=True),
          extra_routes=extra)
    return 0
