"""Tokens: who may use the server, and whose computers and conversations are whose.

A token file holds one token a line (`#` comments allowed) and must be private (mode 0600).
The default one is made on first start. A token is never logged: each is known inside the
server by its owner id, a hash that cannot be turned back into the token.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from orchestrator.server.errors import BadRequest

log = logging.getLogger(__name__)


def default_token_file() -> Path:
    """`<user config dir>/lmc/serve-tokens`."""
    import platformdirs

    return Path(platformdirs.user_config_dir("lmc")) / "serve-tokens"


def owner_of(token: str) -> str:
    """The id a token's computers and conversations are filed under (not reversible to the token)."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Tokens:
    """The accepted tokens."""

    tokens: tuple[str, ...]

    def owner(self, presented: str | None) -> str | None:
        """The owner id of a presented token, or None if it is not one of ours (constant time per token)."""
        if not presented:
            return None
        found = None
        for token in self.tokens:
            if hmac.compare_digest(token.encode(), presented.encode()):
                found = owner_of(token)
        return found


def _check_private(path: Path) -> None:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise BadRequest(f"token file {path} can be read by other users (mode {stat.S_IMODE(mode):o}); "
                         f"make it private with: chmod 600 {path}")


def load(path: Path) -> Tokens:
    """The tokens of a private token file; BadRequest saying what to fix if there are none or it is not private."""
    if not path.is_file():
        raise BadRequest(f"no token file at {path}; write one token a line to it (chmod 600), "
                         "or leave out --token-file to have one made")
    _check_private(path)
    lines = [line.strip() for line in path.read_text().splitlines()]
    tokens = tuple(line for line in lines if line and not line.startswith("#"))
    short = [i for i, t in enumerate(tokens) if len(t) < 16]
    if not tokens or short:
        raise BadRequest(f"token file {path} has {'no tokens' if not tokens else 'a token under 16 characters'}; "
                         "put one token a line, each at least 16 characters "
                         "(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')")
    return Tokens(tokens)


def load_or_create(path: Path) -> tuple[Tokens, str | None]:
    """The tokens of `path`, made with one new token if it does not exist; (tokens, the new token or None)."""
    if path.exists():
        return load(path), None
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # private from the first byte
    with os.fdopen(fd, "w") as out:
        out.write(token + "\n")
    log.info("made a new token file at %s", path)
    return Tokens((token,)), token
