"""One control-socket client as the server tracks it, and the table of all of them.

A connection is *busy* while a request it sent is being answered, otherwise *idle* since
its last complete request or answer. The table lets a full server make room for a newcomer
by closing the longest-idle connection instead of refusing everyone new (held idle
connections must not lock users out), and the read loop closes a connection idle past
``idle_timeout_s``. A connection is only evicted when nothing it sent is waiting to be
read and it has been quiet for ``evict_grace_s`` (a request in transit is never lost).
"""

from __future__ import annotations

import array
import asyncio
import fcntl
import logging
import termios
import time
from collections.abc import Callable

from mimolo.errors import Dropped
from mimolo.ipc.types import MAX_RESPONSE_BYTES, Response, encode_line, error_response

log = logging.getLogger(__name__)


class Connection:
    """The write side of one client (serialized, bounded, drain deadline) and its activity."""

    def __init__(
        self,
        writer: asyncio.StreamWriter,
        high_water: int,
        drain_s: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.writer = writer
        self.high_water = high_water
        self.drain_s = drain_s
        self.lock = asyncio.Lock()
        self.clock = clock
        self.last_active = clock()
        self.last_input = self.last_active
        self.partial = False
        self.inflight = 0
        self.evicted = False
        writer.transport.set_write_buffer_limits(high=high_water)

    def begin(self) -> None:
        """A complete request arrived: busy until its answer is sent."""
        self.inflight += 1
        self.last_active = self.clock()

    def end(self) -> None:
        """An answer was sent (or the request failed): idle time counts from now."""
        self.inflight = max(0, self.inflight - 1)
        self.last_active = self.clock()

    def received(self, partial: bool) -> None:
        """Bytes arrived; ``partial`` says an incomplete line is left buffered."""
        self.last_input = self.clock()
        self.partial = partial

    @property
    def busy(self) -> bool:
        return self.inflight > 0

    def evictable(self, grace_s: float) -> bool:
        """Idle, quiet for ``grace_s``, and nothing it sent is left unread."""
        if self.busy or self.partial or self.evicted:
            return False
        if self.clock() - max(self.last_active, self.last_input) < grace_s:
            return False
        return _unread_bytes(self.writer) == 0

    def idle_for(self) -> float:
        """Seconds since the last request or answer (0 while a request is answered)."""
        return 0.0 if self.busy else max(0.0, self.clock() - self.last_active)

    def evict(self) -> None:
        """Close now (it is idle: nothing it waits for is lost). Answers already written
        reach it first; one still queued for a peer that does not read is discarded."""
        self.evicted = True
        transport = self.writer.transport
        if transport.get_write_buffer_size():
            transport.abort()
        else:
            transport.close()

    async def send(self, response: Response) -> None:
        line = encode_line(response)
        if len(line) > MAX_RESPONSE_BYTES:
            line = encode_line(
                error_response(
                    response.cmd,
                    response.request_id,
                    "response_too_large",
                    f"the answer ({len(line)} bytes) exceeds {MAX_RESPONSE_BYTES} bytes",
                )
            )
        async with self.lock:
            if self.writer.is_closing():
                raise ConnectionResetError("connection closed")
            self.writer.write(line)
            if self.writer.transport.get_write_buffer_size() > self.high_water:
                try:
                    await asyncio.wait_for(self.writer.drain(), timeout=self.drain_s)
                except TimeoutError:
                    self.writer.transport.abort()
                    raise Dropped from None


def _unread_bytes(writer: asyncio.StreamWriter) -> int:
    """Bytes the peer sent that the kernel still holds for us (0 if it cannot be told)."""
    sock = writer.get_extra_info("socket")
    if sock is None:
        return 0
    count = array.array("i", [0])
    try:
        fcntl.ioctl(sock.fileno(), termios.FIONREAD, count, True)
    except (OSError, ValueError):
        return 0
    return int(count[0])


class ConnectionTable:
    """The served connections, at most ``limit``; makes room by evicting the longest idle."""

    def __init__(self, limit: int, *, evict_grace_s: float = 1.0) -> None:
        self.limit = limit
        self.evict_grace_s = evict_grace_s
        self._open: dict[Connection, None] = {}
        self.evictions = 0

    def __len__(self) -> int:
        return len(self._open)

    def admit(self, conn: Connection) -> bool:
        """Serve ``conn``, evicting the longest-idle connection if full; False if none can go."""
        if len(self._open) >= self.limit:
            idle = [c for c in self._open if c.evictable(self.evict_grace_s)]
            if not idle:
                return False
            victim = min(idle, key=lambda c: max(c.last_active, c.last_input))
            log.info(
                "control socket full (%d): closing a connection idle for %.1f s",
                self.limit,
                victim.idle_for(),
            )
            self.discard(victim)
            victim.evict()
            self.evictions += 1
        self._open[conn] = None
        return True

    def discard(self, conn: Connection) -> None:
        self._open.pop(conn, None)


__all__ = ["Connection", "ConnectionTable"]
