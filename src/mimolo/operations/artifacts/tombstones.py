"""Tombstones: what a purge deleted, when, by which plan and decision, and where it lives on.

One JSON line per deleted file in the instance's ``index/tombstones.jsonl`` (append-only,
0600, fsynced). Evidence summaries keep referring to purged artifacts; whoever answers for
a missing artifact looks here to say "purged (archived in X)" instead of "missing".
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

import msgspec

from mimolo.dataroot import open_private

TOMBSTONES_NAME: Final = "tombstones.jsonl"
_encoder: Final = msgspec.json.Encoder()


class Tombstone(msgspec.Struct, frozen=True, kw_only=True):
    rel_path: str
    sha256: str
    bytes: int
    mtime: str
    deleted_at: str
    plan_id: str
    decision: str
    archive_id: str | None = None
    archive_file: str | None = None


_decoder: Final = msgspec.json.Decoder(Tombstone)


def tombstones_path(instance_dir: Path) -> Path:
    return instance_dir / "index" / TOMBSTONES_NAME


def append_tombstones(instance_dir: Path, stones: list[Tombstone]) -> None:
    """Append ``stones`` in one write and fsync them (the purge is only done once they are)."""
    if not stones:
        return
    body = b"".join(_encoder.encode(s) + b"\n" for s in stones)
    fd = open_private(tombstones_path(instance_dir))
    try:
        view = memoryview(body)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def find_tombstone(instance_dir: Path, rel_path: str) -> Tombstone | None:
    """The newest tombstone of ``rel_path``, or None (torn or foreign lines are skipped)."""
    try:
        lines = tombstones_path(instance_dir).read_bytes().splitlines()
    except OSError:
        return None
    needle = _encoder.encode(rel_path)
    for line in reversed(lines):
        if needle not in line:
            continue
        try:
            stone = _decoder.decode(line)
        except msgspec.DecodeError:
            continue
        if stone.rel_path == rel_path:
            return stone
    return None


def purged_message(stone: Tombstone) -> str:
    """How a purged artifact reads wherever it is shown."""
    if stone.archive_id:
        return f"purged (archived in {stone.archive_id})"
    return "purged (not archived)"


__all__ = [
    "TOMBSTONES_NAME",
    "Tombstone",
    "append_tombstones",
    "find_tombstone",
    "purged_message",
    "tombstones_path",
]
