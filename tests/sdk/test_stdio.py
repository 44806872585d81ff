"""The agent's stdin reader: the shared line framer over a real pipe."""

from __future__ import annotations

import os
import threading

import pytest

from mimolo.sdk.stdio import LineReader

WAIT = 30.0


def read_all(data: list[bytes], max_bytes: int = 16) -> list[bytes | None]:
    """Write ``data`` chunk by chunk into a pipe and collect what the reader delivers."""
    read_fd, write_fd = os.pipe()
    got: list[bytes | None] = []
    done = threading.Event()
    reader = LineReader(read_fd, got.append, done.set, max_bytes=max_bytes)
    reader.start()
    try:
        for chunk in data:
            os.write(write_fd, chunk)
    finally:
        os.close(write_fd)
    assert done.wait(WAIT)
    reader.join(WAIT)
    os.close(read_fd)
    return got


def test_lines_in_any_chunks_and_blank_lines_dropped() -> None:
    assert read_all([b'{"a":', b"1}\n\n  \n{}", b"\n"]) == [b'{"a":1}', b"{}"]


def test_an_over_long_line_is_reported_once_and_skipped() -> None:
    got = read_all([b"x" * 10, b"y" * 10, b"z" * 10, b"\n{}\n"])
    assert got == [None, b"{}"]


def test_a_line_over_the_cap_in_one_chunk_is_over_long_too() -> None:
    assert read_all([b"x" * 17 + b"\n{}\n"]) == [None, b"{}"]


@pytest.mark.parametrize(
    ("tail", "expected"),
    [(b"{}", []), (b"x" * 40, [None])],
    ids=["partial-command-dropped", "over-long-still-reported"],
)
def test_at_eof(tail: bytes, expected: list[bytes | None]) -> None:
    assert read_all([b"{}\n", tail]) == [b"{}", *expected]
