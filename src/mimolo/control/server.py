"""Serving Control: a loopback-only socket, uvicorn, and the URL carrying the launch token."""

from __future__ import annotations

import logging
import socket
from typing import Final

import uvicorn
from starlette.applications import Starlette

log = logging.getLogger(__name__)

HOST: Final = "127.0.0.1"


def bind_loopback(port: int = 0) -> socket.socket:
    """A listening TCP socket on 127.0.0.1 (``port`` 0 picks a free one)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, port))
        sock.listen(128)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def control_url(port: int, token: str | None = None) -> str:
    """``http://127.0.0.1:<port>/`` with ``?token=`` when given."""
    base = f"http://{HOST}:{port}/"
    return f"{base}?token={token}" if token else base


def make_server(app: Starlette) -> uvicorn.Server:
    """A uvicorn server for ``app`` that leaves logging to our own handlers."""
    config = uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        lifespan="on",
        server_header=False,
        proxy_headers=False,
        timeout_graceful_shutdown=5,
    )
    return uvicorn.Server(config)


async def serve(app: Starlette, sock: socket.socket) -> None:
    """Serve ``app`` on ``sock`` until interrupted."""
    server = make_server(app)
    await server.serve(sockets=[sock])


__all__ = ["HOST", "bind_loopback", "control_url", "make_server", "serve"]
