"""The ledger's part of a snapshot: checkpoints first, then the day files up to their last
complete line, copied into a private staging folder and verified there, so the backup
holds a chain that is known to verify (or says exactly why it does not).

The order makes the copy consistent without stopping Operations: the ledger only appends,
and a checkpoint never names a record that is not yet on disk, so every checkpoint we
copied is covered by the day files we copy after it. The one window a single pass can
miss (a day closing between the two reads) is closed by trying again.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from mimolo.backup.manifest import LedgerFile, LedgerState
from mimolo.backup.source import Listed, open_listed
from mimolo.dataroot import ensure_private_dir, open_private
from mimolo.evidence.verify import Report, load_public_key, verify


@dataclass(frozen=True)
class Staged:
    """A file copied into the staging folder: where it is, and what the source said."""

    rel: PurePosixPath
    path: Path
    mode: int
    mtime_ns: int
    bytes: int
    sha256: str


def _is_checkpoint(item: Listed) -> bool:
    return item.rel.name.endswith(".checkpoint.json")


def copy_one(item: Listed, staging: Path) -> Staged | None:
    opened = open_listed(item)
    if opened is None:
        return None
    target = staging / item.rel
    ensure_private_dir(target.parent)
    digest = hashlib.sha256()
    size = 0
    fd = open_private(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        for chunk in opened.chunks():
            digest.update(chunk)
            size += len(chunk)
            os.write(fd, chunk)
    finally:
        os.close(fd)
        opened.close()
    return Staged(item.rel, target, opened.mode, opened.mtime_ns, size, digest.hexdigest())


def copy_order(items: list[Listed]) -> list[Listed]:
    """Checkpoints first, then everything else of the evidence folder."""
    return [i for i in items if _is_checkpoint(i)] + [i for i in items if not _is_checkpoint(i)]


def copy_ledger(items: list[Listed], staging: Path) -> list[Staged]:
    """Copy in ``copy_order`` (a vanished file is left out: the ledger never removes one,
    so only a moved-aside one can vanish)."""
    staged = [copy_one(item, staging) for item in copy_order(items)]
    return sorted((s for s in staged if s is not None), key=lambda s: s.rel.as_posix())


def _problems(report: Report) -> list[str]:
    out = []
    for p in report.problems:
        where = f"{p.file}:{p.line}" if p.line else p.file
        out.append(f"{p.kind} {where}: {p.message}")
    return out


def ledger_state(staged: list[Staged], report: Report) -> LedgerState:
    return LedgerState(
        files=[
            LedgerFile(s.rel.as_posix(), s.bytes)
            for s in staged
            if s.rel.name.endswith(".evidence.jsonl")
        ],
        last_seq=report.last_seq,
        last_hash=report.last_hash,
        records=report.records,
        key_id=report.key_id,
        verified=report.ok,
        problems=_problems(report),
    )


def public_key_of(public_pem: Path) -> bytes | None:
    """The raw host public key, or None when the root has none (or it is unreadable: the
    verification then says so, and the backup records it)."""
    try:
        return load_public_key(public_pem)
    except (OSError, ValueError):
        return None


def verify_copy(evidence_dir: Path, public_pem: Path) -> Report:
    return verify(evidence_dir, public_key_of(public_pem))


def snapshot_ledger(
    list_items: Callable[[], list[Listed]],
    staging: Path,
    evidence_rel: PurePosixPath,
    public_pem: Path,
    *,
    attempts: int = 5,
    pause_s: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[list[Staged], LedgerState]:
    """List, copy and verify; again (up to ``attempts``) while the copy does not verify."""
    for attempt in range(1, attempts + 1):
        shutil.rmtree(staging / evidence_rel, ignore_errors=True)
        staged = copy_ledger(list_items(), staging)
        report = verify_copy(staging / evidence_rel, public_pem)
        if report.ok or attempt == attempts:
            return staged, ledger_state(staged, report)
        sleep(pause_s)
    raise AssertionError("unreachable")  # pragma: no cover


__all__ = [
    "Staged",
    "copy_ledger",
    "copy_one",
    "copy_order",
    "ledger_state",
    "snapshot_ledger",
    "verify_copy",
]
