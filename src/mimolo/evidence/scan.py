"""The fast pass of verification: is each day file, on its own, a clean chain?

Parsing and hashing every line is nearly all of a verification's cost, and each day file
can be checked on its own, so files are scanned in parallel worker processes (standard
library only; shipped in evidence packs with ``chain.py`` and ``verify.py``). Only a file
that is not clean, or does not follow the one before it, is walked line by line again to
say exactly what is wrong.
"""

from __future__ import annotations

import contextlib
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

try:
    from mimolo.protocol import chain
except ImportError:  # standalone, beside chain.py in an evidence pack
    import chain  # type: ignore[no-redef,import-not-found]

PARALLEL_BYTES = 16 * 2**20  # below this a pool costs more than it saves


@dataclass(frozen=True)
class FileScan:
    path: str
    clean: bool  # every line chained, each hash recomputes, each prev the line before
    count: int = 0
    first_prev: str | None = None
    last_hash: str | None = None
    first_seq: int | None = None
    last_seq: int | None = None
    seen: dict[int, str] = field(default_factory=dict)  # wanted seq -> stored hash


def scan_file(path: str, wanted: frozenset[int]) -> FileScan:
    """One file's fast pass."""
    with open(path, "rb") as fh:
        lines = fh.read().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    parse, link_hash = chain.parse_link, chain.link_hash
    seen: dict[int, str] = {}
    expected: str | None = None
    first: chain.Link | None = None
    link: chain.Link | None = None
    for line in lines:
        link = parse(line)
        if link is None or link_hash(link.prev, link.digest) != link.hash:
            return FileScan(path, clean=False)
        if first is None:
            first = link
        elif link.prev != expected:
            return FileScan(path, clean=False)
        if link.seq in wanted:
            seen[link.seq] = link.hash
        expected = link.hash
    if first is None or link is None:
        return FileScan(path, clean=True)
    return FileScan(path, True, len(lines), first.prev, link.hash, first.seq, link.seq, seen)


def scan_files(
    paths: list[str], wanted: frozenset[int], *, parallel_bytes: int = PARALLEL_BYTES
) -> list[FileScan]:
    """Every file's fast pass, in parallel when the files are big enough to pay for it."""
    workers = min(os.cpu_count() or 1, 8)
    total = 0
    for path in paths:
        with contextlib.suppress(OSError):
            total += os.path.getsize(path)
    if workers < 2 or total < parallel_bytes or len(paths) < 2:
        return [scan_file(path, wanted) for path in paths]
    chunk = max(1, len(paths) // (workers * 4))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(scan_file, paths, [wanted] * len(paths), chunksize=chunk))


__all__ = ["PARALLEL_BYTES", "FileScan", "scan_file", "scan_files"]
