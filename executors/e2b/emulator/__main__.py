"""`python -m executors.e2b.emulator`: serve the E2B emulator on 127.0.0.1 until interrupted."""

from __future__ import annotations

import argparse
import signal
import threading

from executors.e2b.emulator.server import API_KEY, E2BServer


def main(argv: list[str] | None = None) -> None:
    """Parse the options, serve, print how to point the e2b SDK (and `lmc --sandbox e2b`) here."""
    parser = argparse.ArgumentParser(
        prog="python -m executors.e2b.emulator",
        description="A local E2B-compatible server: run the e2b backend offline, for tests and development.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=49982, help="port to listen on; 0 for a free one")
    parser.add_argument("--api-key", default=API_KEY, help=f"the API key to accept (default: {API_KEY})")
    args = parser.parse_args(argv)
    server = E2BServer(api_key=args.api_key, host=args.host, port=args.port).start()
    print(f"E2B emulator on {server.url}; point the e2b SDK here with:")
    for name, value in server.environment().items():
        print(f"  export {name}={value}")
    print("then e.g. `lmc run --sandbox e2b`. Its sandboxes are processes of this machine: no isolation.")
    print("Ctrl-C stops it and kills its sandboxes.")
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):  # either way, its sandboxes' processes are killed
        signal.signal(sig, lambda *_: stopping.set())
    try:
        stopping.wait()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
