"""Walk a ledger's hash chain and signed checkpoints; say exactly what is wrong and where.

Works on any directory laid out like ``operations/evidence/`` (``YYYY/YYYYMMDD.evidence.jsonl``
with ``YYYYMMDD.checkpoint.json`` beside them): a data root's ledger or an evidence pack's
copy of it. Needs only the standard library and ``cryptography``: evidence packs ship the
``STANDALONE_MODULES`` verbatim, side by side, as their standalone verifier.

Kinds of problem: ``edited``, ``deleted``, ``inserted``, ``reordered``, ``truncated``,
``bad_signature``, ``missing_checkpoint``, ``checkpoint_mismatch``, ``anchor_mismatch``.
"""

from __future__ import annotations

import contextlib
from datetime import date
from pathlib import Path

try:
    from mimolo.evidence.findings import Checkpoint, DayStatus, Problem, Report
    from mimolo.evidence.layout import (
        checkpoint_files,
        day_files,
        load_public_key,
        read_checkpoints,
    )
    from mimolo.evidence.scan import PARALLEL_BYTES
    from mimolo.evidence.walk import ChainWalk
    from mimolo.protocol import chain
except ImportError:  # standalone, beside the other verifier modules in an evidence pack
    import chain  # type: ignore[no-redef,import-not-found]
    from findings import Checkpoint, DayStatus, Problem, Report  # type: ignore[no-redef,import-not-found]
    from layout import checkpoint_files, day_files, load_public_key, read_checkpoints  # type: ignore[no-redef,import-not-found]
    from scan import PARALLEL_BYTES  # type: ignore[no-redef,import-not-found]
    from walk import ChainWalk  # type: ignore[no-redef,import-not-found]

# What an evidence pack ships (verbatim, side by side) so it verifies without MiMoLo.
STANDALONE_MODULES: tuple[str, ...] = (
    "mimolo/protocol/chain.py",
    "mimolo/evidence/findings.py",
    "mimolo/evidence/layout.py",
    "mimolo/evidence/scan.py",
    "mimolo/evidence/walk.py",
    "mimolo/evidence/verify.py",
)


def verify(
    evidence_dir: Path,
    public_raw: bytes | None,
    *,
    day_from: date | None = None,
    day_to: date | None = None,
    anchors: tuple[str, ...] = (),
    allow_open_newest: bool = True,
    parallel_bytes: int = PARALLEL_BYTES,
) -> Report:
    """Verify the chain and checkpoints under ``evidence_dir`` for the days in range."""
    walk = ChainWalk(evidence_dir, public_raw)
    walk.load_checkpoints()
    for text in anchors:
        with contextlib.suppress(ValueError):
            walk.wanted.add(chain.parse_anchor(text)[1])
    files = day_files(evidence_dir)
    newest = files[-1][0] if files and allow_open_newest else None
    if day_from is not None:
        walk.walk_from_start = files[:1] == [f for f in files if f[0] >= day_from][:1]
    files = [
        (day, path)
        for day, path in files
        if (day_from is None or day >= day_from) and (day_to is None or day <= day_to)
    ]
    walk.walk(files, newest, parallel_bytes)
    walk.check_checkpoint_hashes()
    for text in anchors:
        check_anchor(walk, text)
    walk.report.last_seq = walk.prev_seq
    walk.report.last_hash = walk.expected
    return walk.report


def check_anchor(walk: ChainWalk, text: str) -> None:
    """An anchor pasted back: the chain must hold that hash at that seq, under that key."""
    try:
        key, seq, hashed = chain.parse_anchor(text)
    except ValueError as exc:
        walk.problem("anchor_mismatch", "anchor", 0, str(exc))
        return
    if key != walk.key_id:
        walk.problem(
            "anchor_mismatch", "anchor", 0, f"the anchor names key {key}, not {walk.key_id}", seq
        )
        return
    got = walk.seen.get(seq)
    if got is None:
        walk.problem("anchor_mismatch", "anchor", 0, f"seq {seq} is not in the verified range", seq)
    elif got != hashed:
        walk.problem(
            "anchor_mismatch", "anchor", 0, f"seq {seq} does not have the anchored hash", seq
        )


__all__ = [
    "STANDALONE_MODULES",
    "Checkpoint",
    "DayStatus",
    "Problem",
    "Report",
    "check_anchor",
    "checkpoint_files",
    "day_files",
    "load_public_key",
    "read_checkpoints",
    "verify",
]
