"""The agent's two pipes: one locked protocol writer, one stdin line reader thread.

``take_over_stdout`` keeps the real stdout for protocol lines only and points fd 1 and
``sys.stdout`` at stderr, so a stray ``print`` can never corrupt the stream.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Final

from mimolo.protocol.line_framer import Framed, LineFramer

MAX_COMMAND_BYTES: Final = 256 * 1024
_CHUNK: Final = 64 * 1024


class ProtocolWriter:
    """Writes whole lines to a file descriptor under one lock; remembers a broken pipe."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._lock = threading.Lock()
        self.broken = False

    def write_line(self, line: bytes) -> bool:
        """Write one newline-terminated line; False once the reader has gone away."""
        with self._lock:
            if self.broken:
                return False
            view = memoryview(line)
            try:
                while view:
                    written = os.write(self._fd, view)
                    view = view[written:]
            except (BrokenPipeError, OSError):
                self.broken = True
                return False
            return True

    def close(self) -> None:
        """Close the protocol fd; later writes are dropped."""
        with self._lock:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self.broken = True


def take_over_stdout() -> ProtocolWriter:
    """Reserve the real stdout for protocol lines; everything else printed goes to stderr."""
    sys.stdout.flush()
    proto_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return ProtocolWriter(proto_fd)


class LineReader(threading.Thread):
    """Reads newline-terminated lines from a raw fd and hands each to ``on_line``.

    Reads the raw fd (not ``sys.stdin``) so no interpreter-owned buffer lock is held at
    exit. An over-long line is skipped to its end and reported as ``on_line(None)``; blank
    lines and an unterminated last line are dropped. ``on_eof`` runs once when the pipe
    closes.
    """

    def __init__(
        self,
        fd: int,
        on_line: Callable[[bytes | None], None],
        on_eof: Callable[[], None],
        *,
        max_bytes: int = MAX_COMMAND_BYTES,
    ) -> None:
        super().__init__(name="mimolo-stdin", daemon=True)
        self._fd = fd
        self._on_line = on_line
        self._on_eof = on_eof
        self._max = max_bytes

    def run(self) -> None:
        """Read until EOF, splitting lines and skipping over-long ones."""
        framer = LineFramer(self._max)
        try:
            while True:
                try:
                    chunk = os.read(self._fd, _CHUNK)
                except OSError:
                    break
                if not chunk:
                    break
                self._deliver(framer.feed(chunk))
            # At EOF an over-long line still counts; a partial command is not a command.
            self._deliver(item for item in framer.finish() if isinstance(item, int))
        finally:
            self._on_eof()

    def _deliver(self, framed: Iterable[Framed]) -> None:
        for item in framed:
            if isinstance(item, int):
                self._on_line(None)
            elif item.strip():
                self._on_line(item)


__all__ = ["MAX_COMMAND_BYTES", "LineReader", "ProtocolWriter", "take_over_stdout"]
