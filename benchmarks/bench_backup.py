"""Whole data root backup and restore (issue 16): MB/s of a root holding screenshots.

The root: N MB of incompressible screenshot-like files (1 GB full, 200 MB quick; 256 kB
each, stored, not deflated) in one instance's artifacts, plus a chained ledger of 20,000
records (deflated) written by the real ``Ledger``. Backup is ``mimolo.backup.make_backup``
(the ledger copied and verified in staging, every file hashed into the zip, fsync,
rename); restore is ``restore_backup`` into a new folder (safe_zip checks, every file's
sha256 compared, the chain verified again). No target: reported for information.
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime, timedelta

from benchmarks._core import BenchContext, Figure, log
from mimolo.backup import make_backup, restore_backup
from mimolo.dataroot import DataRoot
from mimolo.operations.host_key import load_or_create_host_key
from mimolo.operations.ledger import Ledger

FILE_BYTES = 256 * 1024
RECORDS = 20_000
SUMMARY = (
    b'{"type":"summary","timestamp":"2026-01-02T10:00:00Z","agent_id":"s1",'
    b'"agent_label":"S","agent_version":"1.0.0","data":{"activity_signal":'
    b'{"mode":"active","keep_alive":true},"client_id":"acme"}}\n'
)


def _build(root: DataRoot, total_mb: int) -> int:
    root.ensure()
    folder = root.instance_dir("screen_tracker", "s1") / "artifacts" / "screenshots"
    folder.mkdir(parents=True, mode=0o700)
    count = total_mb * 1024 * 1024 // FILE_BYTES
    for i in range(count):
        (folder / f"shot-{i:06d}.png").write_bytes(os.urandom(FILE_BYTES))
    ledger = Ledger(root, host="bench", host_key=load_or_create_host_key(root), max_pending=10**9)
    ledger.open()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(RECORDS):
        ledger.append(
            plugin_id="screen_tracker",
            instance_id="s1",
            instance_label="S",
            raw_summary=SUMMARY,
            received_at=start + timedelta(seconds=n * 30),
        )
    ledger.commit()
    ledger.close()
    return sum(p.stat().st_size for p in root.root.rglob("*") if p.is_file())


def run(ctx: BenchContext) -> list[Figure]:
    total_mb = ctx.scale(full=1024, quick=200)
    root = DataRoot(ctx.tmp_dir("root") / "root")
    log(f"backup: building a root with {total_mb} MB of screenshots and {RECORDS} records")
    size = _build(root, total_mb)
    out = ctx.tmp_dir("out")
    mb = size / 1e6

    def backup() -> float:
        dest = out / "b.zip"
        dest.unlink(missing_ok=True)
        return mb / ctx.time_call(lambda: make_backup(root, dest))

    def restore() -> float:
        target = out / "restored"
        shutil.rmtree(target, ignore_errors=True)
        return mb / ctx.time_call(lambda: restore_backup(out / "b.zip", target))

    backed = ctx.median_of(backup, warmup=0)
    restored = ctx.median_of(restore, warmup=0)
    notes = f"{mb:.0f} MB: {total_mb} MB of 256 kB screenshots + {RECORDS} chained records"
    return [
        backed.figure("whole-root backup", "MB/s", notes=notes + "; hashed, fsynced, renamed"),
        restored.figure(
            "whole-root restore", "MB/s", notes=notes + "; safe_zip checks, sha256, chain verified"
        ),
    ]
