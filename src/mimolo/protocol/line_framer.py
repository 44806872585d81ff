"""Line framing of a JSON-lines stream with a hard cap. Pure: bytes in, lines out.

Both directions of the Agent JLP use it: Operations frames an agent's stdout, the SDK frames
the commands on an agent's stdin. A line longer than the cap is discarded up to its newline
and reported by size; memory stays bounded by the cap whatever the peer writes (endless
lines included).
"""

from __future__ import annotations

from collections.abc import Iterator

Framed = bytes | int
"""A complete line (newline stripped), or the size of a discarded oversized line."""


class LineFramer:
    """Feed chunks, get lines; ``finish`` at EOF for a last line without newline."""

    __slots__ = ("_buf", "_discarding", "max_line_bytes")

    def __init__(self, max_line_bytes: int) -> None:
        self.max_line_bytes = max_line_bytes
        self._buf = bytearray()
        self._discarding = 0  # bytes of an oversized line dropped so far (0 = not discarding)

    @property
    def discarding(self) -> bool:
        """Inside a line already over the cap (its bytes are being thrown away)."""
        return self._discarding > 0

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def feed(self, chunk: bytes) -> Iterator[Framed]:
        """The lines (bytes) and oversized sizes (int) completed by ``chunk``."""
        cap = self.max_line_bytes
        start = 0
        while True:
            nl = chunk.find(b"\n", start)
            if nl < 0:
                rest = len(chunk) - start
                if self._discarding:
                    self._discarding += rest
                elif len(self._buf) + rest > cap:
                    self._discarding = len(self._buf) + rest
                    self._buf.clear()
                else:
                    self._buf += chunk[start:]
                return
            if self._discarding:
                yield self._discarding + nl - start
                self._discarding = 0
            elif self._buf:
                self._buf += chunk[start:nl]
                line = bytes(self._buf)
                self._buf.clear()
                yield len(line) if len(line) > cap else line
            elif nl - start > cap:
                yield nl - start
            else:
                yield chunk[start:nl]
            start = nl + 1

    def finish(self) -> Iterator[Framed]:
        """At EOF: a pending oversized size, or a final line without newline."""
        if self._discarding:
            yield self._discarding
        elif self._buf:
            yield bytes(self._buf)
        self._discarding = 0
        self._buf.clear()


__all__ = ["Framed", "LineFramer"]
