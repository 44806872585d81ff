"""One-shot sign-in links: tokens minted from a per-launch secret, each spent on first use.

Each Control launch makes a random secret and keeps it in memory and in
``<root>/control/launch.json`` (0600, in the 0700 ``control/`` directory, with Control's port
and pid), so ``mimolo control --new-link`` can mint a fresh link for the running Control
without a new listener. A link token is ``<nonce>.<issued_at>.<mac>``: 16 random bytes,
the Unix time it was made, and an HMAC-SHA256 of both under the secret. Control accepts it
once (the nonce is then spent) and only within :data:`LINK_TTL_S` of its issue time; a
restart makes a new secret, so every earlier link dies with the old process.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import socket
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Final

from mimolo.dataroot import DataRoot, write_atomic

LINK_TTL_S: Final = 600.0
"""How long a sign-in link stays valid after it is made."""
CLOCK_SKEW_S: Final = 30.0
"""A link "issued" this far in the future is still accepted (CLI and server clocks agree)."""
SECRET_BYTES: Final = 32
LAUNCH_FILE: Final = "launch.json"
_DOMAIN: Final = b"mimolo-control-signin-v1\x00"


class Redeemed(Enum):
    """What presenting a link token gave."""

    OK = "ok"
    WRONG = "wrong"
    EXPIRED = "expired"
    SPENT = "spent"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _mac(secret: bytes, nonce: str, issued: int) -> str:
    message = _DOMAIN + f"{nonce}.{issued}".encode("ascii")
    return _b64(hmac.new(secret, message, hashlib.sha256).digest())


def mint_link_token(secret: bytes, now: float) -> str:
    """A fresh sign-in token for the Control holding ``secret``."""
    nonce = secrets.token_urlsafe(16)
    issued = int(now)
    return f"{nonce}.{issued}.{_mac(secret, nonce, issued)}"


class LinkTokens:
    """Mints and redeems one launch's sign-in tokens; remembers spent nonces until expiry."""

    def __init__(
        self,
        secret: bytes | None = None,
        *,
        ttl_s: float = LINK_TTL_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.secret = secret or secrets.token_bytes(SECRET_BYTES)
        self.ttl_s = ttl_s
        self.clock = clock
        self._spent: dict[str, float] = {}

    def mint(self) -> str:
        """A fresh token (what the CLI prints)."""
        return mint_link_token(self.secret, self.clock())

    def redeem(self, presented: str) -> Redeemed:
        """Check ``presented`` and, when it is good, spend it."""
        now = self.clock()
        for nonce, expires in list(self._spent.items()):
            if expires < now:
                del self._spent[nonce]
        nonce, _, rest = presented.partition(".")
        issued_text, _, mac = rest.partition(".")
        digits = issued_text.isascii() and issued_text.isdigit() and len(issued_text) <= 12
        if not (nonce and mac and digits):
            return Redeemed.WRONG
        issued = int(issued_text)
        expected = _mac(self.secret, nonce, issued) if nonce.isascii() else ""
        if not hmac.compare_digest(mac.encode("utf-8"), expected.encode("ascii")):
            return Redeemed.WRONG
        if issued > now + CLOCK_SKEW_S:
            return Redeemed.WRONG
        if now - issued > self.ttl_s:
            return Redeemed.EXPIRED
        if nonce in self._spent:
            return Redeemed.SPENT
        self._spent[nonce] = issued + self.ttl_s + CLOCK_SKEW_S
        return Redeemed.OK


@dataclass(frozen=True)
class Launch:
    """What ``launch.json`` says about the running Control."""

    secret: bytes
    port: int
    pid: int


def launch_path(root: DataRoot) -> Path:
    """``<root>/control/launch.json``."""
    return root.control_dir / LAUNCH_FILE


def write_launch(root: DataRoot, launch: Launch) -> None:
    """Record this launch (atomically, 0600)."""
    body = {"secret": _b64(launch.secret), "port": launch.port, "pid": launch.pid}
    write_atomic(launch_path(root), json.dumps(body).encode("ascii"))


def read_launch(root: DataRoot) -> Launch | None:
    """The recorded launch, or None when there is none or it is not a private regular file."""
    path = launch_path(root)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_mode & 0o077 or info.st_uid != os.getuid():
            return None
        raw = os.read(fd, 4096)
    finally:
        os.close(fd)
    try:
        body = json.loads(raw)
        secret = base64.urlsafe_b64decode(body["secret"] + "=" * (-len(body["secret"]) % 4))
        port, pid = int(body["port"]), int(body["pid"])
    except (ValueError, KeyError, TypeError):
        return None
    return Launch(secret=secret, port=port, pid=pid) if len(secret) >= 16 else None


def remove_launch(root: DataRoot, secret: bytes) -> None:
    """Remove ``launch.json`` if it still records the launch holding ``secret``."""
    launch = read_launch(root)
    if launch is not None and hmac.compare_digest(launch.secret, secret):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(launch_path(root))


def running_launch(root: DataRoot, timeout: float = 1.0) -> Launch | None:
    """The recorded launch if its process is alive and its port accepts connections."""
    launch = read_launch(root)
    if launch is None:
        return None
    try:
        os.kill(launch.pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, someone else's: the port check decides
    try:
        with socket.create_connection(("127.0.0.1", launch.port), timeout=timeout):
            pass
    except OSError:
        return None
    return launch


__all__ = [
    "LINK_TTL_S",
    "Launch",
    "LinkTokens",
    "Redeemed",
    "launch_path",
    "mint_link_token",
    "read_launch",
    "remove_launch",
    "running_launch",
    "write_launch",
]
