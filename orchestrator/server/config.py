"""The settings of one `lmc serve`, resolved once by the CLI and passed down."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from orchestrator.server.errors import BadRequest

MIB = 1024 * 1024


@dataclass(frozen=True)
class ServerConfig:
    """How `lmc serve` listens, authenticates and limits what it is sent."""

    host: str = "127.0.0.1"
    """Address to bind; anything but loopback needs an explicit token_file."""
    port: int = 8765
    """TCP port; 0 picks a free one (the CLI prints the one it got)."""
    token_file: Path | None = None
    """File of accepted tokens, one a line; None: `<config dir>/lmc/serve-tokens`, made on first start."""
    idle_timeout: float = 600.0
    """Seconds a computer or conversation may go unused before it is closed (each may ask for less)."""
    max_body: int = MIB
    """Largest request body in bytes (JSON requests, WebSocket messages)."""
    max_upload: int = 100 * MIB
    """Largest file upload in bytes."""
    max_desktops: int = 4
    """Virtual desktops (`"desktop": true`) served at once; each is an Xvfb and an x11vnc (~40 MiB)."""
    allowed_origins: tuple[str, ...] = ()
    """Origins (scheme://host[:port]) besides the server's own whose pages may open WebSockets."""
    data_dir: Path | None = None
    """Where conversations are saved (one folder per token); None: the settings' data_dir."""
    ray: bool = False
    """Keep computers and conversations in Ray actors, shared by every `lmc serve --ray` on the cluster."""
    ray_address: str | None = None
    """The Ray cluster to join (None: RAY_ADDRESS's, or a local one started here); implies `ray`."""
    novnc_dir: Path | None = Path("/usr/share/novnc")
    """noVNC's files (Debian's novnc package) for the console's desktop view; None or missing: screenshots."""

    def __post_init__(self) -> None:
        if self.ray_address is not None:
            object.__setattr__(self, "ray", True)
        if not 0 <= self.port <= 65535:
            raise BadRequest(f"port must be 0..65535, got {self.port}; try --port 8765")
        if self.idle_timeout <= 0:
            raise BadRequest(f"idle timeout must be more than 0 s, got {self.idle_timeout}; try --idle-timeout 600")
        if self.max_desktops < 0:
            raise BadRequest(f"max desktops must be 0 or more, got {self.max_desktops}; try --max-desktops 4")
        if not self.loopback and self.token_file is None:
            raise BadRequest(
                f"refusing to listen on {self.host!r} (reachable from other machines) with a token made up on "
                "the spot; choose the tokens explicitly with --token-file PATH (one token a line, mode 0600), "
                "or bind 127.0.0.1"
            )

    @property
    def loopback(self) -> bool:
        """Whether the server is reachable from this machine only."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False  # a host name: it may resolve anywhere
