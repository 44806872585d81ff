"""Line framing: any chunking of any byte stream gives the same lines, memory stays capped."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from mimolo.protocol.line_framer import Framed, LineFramer


def reference(data: bytes, cap: int) -> list[Framed]:
    """Split the whole stream at once: what any chunking must reproduce."""
    parts = data.split(b"\n")
    out: list[Framed] = []
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if last and not part:
            break
        out.append(len(part) if len(part) > cap else part)
    return out


def framed(chunks: list[bytes], cap: int) -> tuple[list[Framed], int]:
    framer = LineFramer(cap)
    out: list[Framed] = []
    peak = 0
    for chunk in chunks:
        out.extend(framer.feed(chunk))
        peak = max(peak, framer.buffered)
    out.extend(framer.finish())
    return out, peak


@settings(max_examples=400)
@given(
    data=st.binary(max_size=400).map(lambda b: b.replace(b"\x00", b"\n")),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=12),
    cap=st.integers(min_value=1, max_value=40),
)
def test_any_chunking_gives_the_reference_lines(data: bytes, cuts: list[int], cap: int) -> None:
    points = sorted({c for c in cuts if c <= len(data)} | {0, len(data)})
    chunks = [data[a:b] for a, b in itertools.pairwise(points)]
    out, peak = framed(chunks, cap)
    assert out == reference(data, cap)
    assert peak <= cap


def test_an_endless_line_never_grows_the_buffer() -> None:
    framer = LineFramer(1024)
    for _ in range(1000):
        assert list(framer.feed(b"x" * 4096)) == []
        assert framer.buffered == 0
    assert list(framer.feed(b"tail\nnext\n")) == [4096 * 1000 + 4, b"next"]
    assert list(framer.finish()) == []


def test_a_last_line_without_newline_is_still_a_line() -> None:
    framer = LineFramer(100)
    assert list(framer.feed(b"a\nb")) == [b"a"]
    assert list(framer.finish()) == [b"b"]
