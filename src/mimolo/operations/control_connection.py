"""One control-socket client as the server tracks it, and the table of all of them.

A connection is *busy* while a request it sent is being answered, otherwise *idle* since
its last complete request or answer. The table lets a full server make room for a newcomer
by closing the longest-idle connection instead of refusing everyone new (held idle
connections must not lock users out), and the read loop closes a connection idle past
``idle_timeout_s``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from mimolo.ipc.types import MAX_RESPONSE_BYTES, Response, encode_line, error_response

log = logging.getLogger(__name__)


class Dropped(Exception):
    """The peer stopped reading; its connection is being dropped."""


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

    @property
    def busy(self) -> bool:
        return self.inflight > 0

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


class ConnectionTable:
    """The served connections, at most ``limit``; makes room by evicting the longest idle."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: dict[Connection, None] = {}
        self.evictions = 0

    def __len__(self) -> int:
        return len(self._open)

    def admit(self, conn: Connection) -> bool:
        """Serve ``conn``, evicting the longest-idle connection if full; False if all busy."""
        if len(self._open) >= self.limit:
            idle = [c for c in self._open if not c.busy]
            if not idle:
                return False
            victim = min(idle, key=lambda c: c.last_active)
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


__all__ = ["Connection", "ConnectionTable", "Dropped"]
