"""`lmc image build|status` and `lmc sandbox prune`: the docker sandbox image and leftovers.

Also runnable alone, for setup scripts: `python -m orchestrator.cli.image image build`.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import Any


def register(sub: Any) -> None:
    """Add the `image` and `sandbox` subcommands."""
    image = sub.add_parser("image", help="build or inspect the docker sandbox image",
                           description="The image docker sandboxes run, built offline from executors/docker/recipe.")
    image_sub = image.add_subparsers(dest="image_command", metavar="ACTION", required=True)
    build = image_sub.add_parser("build", help="build the sandbox image unless it is present (needs root)")
    build.add_argument("--force", action="store_true", help="rebuild even if the image is present")
    build.add_argument("--mirror", default=None, help="Debian mirror URL (default: http://deb.debian.org/debian)")
    build.set_defaults(handler=build_command)
    status = image_sub.add_parser("status", help="say which sandbox images are present")
    status.set_defaults(handler=status_command)

    sandbox = sub.add_parser("sandbox", help="manage docker sandbox containers")
    sandbox_sub = sandbox.add_subparsers(dest="sandbox_command", metavar="ACTION", required=True)
    prune = sandbox_sub.add_parser("prune", help="remove sandboxes left behind by processes that died")
    prune.add_argument("--all", action="store_true", help="remove every lmc sandbox, even of live processes")
    prune.add_argument("--dry-run", action="store_true", help="list what would be removed, remove nothing")
    prune.set_defaults(handler=prune_command)


def build_command(args: argparse.Namespace) -> int:
    """Build the image, showing the current step, the latest output line and the time taken."""
    from rich.console import Console

    from executors.docker import image as docker_image

    console = Console(stderr=True)
    started = time.monotonic()
    step = ["starting"]
    with console.status("building the sandbox image") as status:

        def on_step(text: str) -> None:
            console.log(f"[bold]{text}[/]")
            step[0] = text

        def on_line(text: str) -> None:
            status.update(f"{step[0]}: [dim]{text[:100]}[/]")

        tag = docker_image.build(on_step, on_line, force=args.force, mirror=args.mirror)
    console.print(f"{tag} ready ({time.monotonic() - started:.0f} s)")
    return 0


def status_command(args: argparse.Namespace) -> int:
    """Print whether the current recipe's image is present; exit 1 if it is not."""
    from executors.docker import image as docker_image

    state = docker_image.status()
    if state.present:
        print(f"{state.tag}: present, {state.size_mb} MiB, built {state.created}")
    else:
        print(f"{state.tag}: not built; build it with `sudo lmc image build` (about 2 minutes)")
    for tag in state.stale:
        print(f"{tag}: from an older recipe; remove it with `docker rmi {tag}`")
    return 0 if state.present else 1


def prune_command(args: argparse.Namespace) -> int:
    """Remove sandboxes whose owning process died (or all of them), listing each."""
    from executors.docker import client as docker_client

    found = docker_client.prune(everything=args.all, dry_run=args.dry_run)
    for leftover in found:
        verb = "removed" if leftover.removed else ("would remove" if leftover.stale else "kept (owner alive)")
        print(f"{leftover.id} {leftover.status:<8} owner {leftover.owner}: {verb}")
    removed = sum(leftover.removed for leftover in found)
    print(f"{removed} sandbox(es) removed, {len(found) - removed} left")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run these subcommands without the rest of `lmc`; a failure is one line and exit code 3."""
    from lmc.errors import LMCError

    parser = argparse.ArgumentParser(prog="lmc", description="the docker sandbox image and leftovers")
    register(parser.add_subparsers(dest="command", metavar="COMMAND", required=True))
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except LMCError as exc:
        print(f"lmc: error: {exc}", file=sys.stderr)
        return 3
    return code


if __name__ == "__main__":
    sys.exit(main())
