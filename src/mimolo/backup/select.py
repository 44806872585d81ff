"""Which files of a data root a backup takes, and how each is read (pure, on relative
POSIX paths): append-only JSON-lines files up to their last complete line, everything
else whole; never the socket, the lock, the containment record, caches or logs."""

from __future__ import annotations

import enum
from pathlib import PurePosixPath
from typing import Final

# Paths (relative to the root) a backup never takes: Operations' run-time files and what
# is rebuilt on demand. containment.json names the running Operations' processes: a
# restored root must not end processes by it.
SKIPPED_FILES: Final = frozenset(
    {"operations/ops.sock", "operations/ops.lock", "operations/containment.json"}
)
SKIPPED_DIRS: Final = ("control/cache", "logs")
EVIDENCE_DIR: Final = PurePosixPath("operations/evidence")


class ReadMode(enum.Enum):
    SKIP = "skip"
    LINES = "lines"  # append-only: copy up to the last complete line
    WHOLE = "whole"  # written atomically (or by its agent): read whole through one fd


def is_instance_index(rel: PurePosixPath) -> bool:
    """``agents/<plugin>/<instance>/index/...``: the artifact inventory's cache."""
    parts = rel.parts
    return len(parts) > 4 and parts[0] == "agents" and parts[3] == "index"


def is_temporary(name: str) -> bool:
    """A write in progress (``.name.<pid>.tmp`` of an atomic write, or any ``*.tmp``)."""
    return name.endswith(".tmp")


def read_mode(rel: PurePosixPath) -> ReadMode:
    text = rel.as_posix()
    if text in SKIPPED_FILES or is_temporary(rel.name) or is_instance_index(rel):
        return ReadMode.SKIP
    if any(text == d or text.startswith(d + "/") for d in SKIPPED_DIRS):
        return ReadMode.SKIP
    return ReadMode.LINES if rel.name.endswith(".jsonl") else ReadMode.WHOLE


def skips_dir(rel: PurePosixPath) -> bool:
    """A directory whose whole subtree is left out (not walked at all)."""
    text = rel.as_posix()
    return text in SKIPPED_DIRS or (len(rel.parts) == 4 and is_instance_index(rel / "x"))


def in_evidence(rel: PurePosixPath) -> bool:
    return rel.is_relative_to(EVIDENCE_DIR)


# Already compressed: stored, not deflated again.
_STORED_SUFFIXES: Final = frozenset(
    {".png", ".jpg", ".jpeg", ".webp", ".gif", ".zip", ".gz", ".xz", ".zst", ".bz2", ".mp4"}
)


def compresses(rel: PurePosixPath) -> bool:
    return rel.suffix.lower() not in _STORED_SUFFIXES


__all__ = [
    "EVIDENCE_DIR",
    "SKIPPED_DIRS",
    "SKIPPED_FILES",
    "ReadMode",
    "compresses",
    "in_evidence",
    "is_instance_index",
    "is_temporary",
    "read_mode",
    "skips_dir",
]
