"""The hash-chained ledger's figures (DESIGN §12, issue 19).

Chain cost: the ledger's own append + commit loop (no agents, no fsync) for N summaries,
once with the pre-chain line (``wrap_summary`` only, as before the chain) and once through
``Ledger.append`` with the chain and a host key: the before/after of what the chain adds on
the event loop. The end-to-end ingest through Operations with the chain on is
``bench_ops``' ingest figure (target ≥ 60,000/s).

Verify: ``mimolo evidence verify``'s walk (``evidence.verify.verify``) over a year of
evidence — 2 M records over 365 day files with a signed checkpoint per day (quick: 200 k)
— written by the real ``Ledger``. Target < 10 s.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

from benchmarks._core import BenchContext, Figure, at_least, below, log
from mimolo.dataroot import DataRoot
from mimolo.evidence.verify import verify
from mimolo.operations.host_key import load_or_create_host_key
from mimolo.operations.jsonl_files import DailyBatchWriter
from mimolo.operations.ledger import Ledger
from mimolo.protocol.evidence import wrap_summary

VERIFY_TARGET_S = 10.0
CHAINED_TARGET = 60_000.0
SUMMARY = (
    b'{"type":"summary","timestamp":"2026-01-02T10:00:00Z","agent_id":"a1",'
    b'"agent_label":"A","agent_version":"1.0.0","data":{"activity_signal":'
    b'{"mode":"active","keep_alive":true},"window":{"start":"2026-01-02T09:59:00Z",'
    b'"end":"2026-01-02T10:00:00Z"},"client_id":"acme","n":1.25}}\n'
)
START = datetime(2025, 1, 1, tzinfo=UTC)


def _unchained(root: DataRoot, n: int) -> float:
    """What ``Ledger.append`` did before the chain: a uuid, the wrap, the day, the batch."""
    batch = DailyBatchWriter(root.evidence_file)
    started = time.perf_counter()
    for seq in range(1, n + 1):
        received_at = START
        line = wrap_summary(
            seq=seq,
            record_id=uuid.uuid4().hex,
            received_at=received_at,
            plugin_id="agent_example",
            instance_id="a1",
            instance_label="A",
            host="bench",
            raw_summary=SUMMARY,
        )
        batch.add(received_at.astimezone(UTC).date(), line)
        if seq % 5000 == 0:
            batch.commit()
    batch.commit()
    elapsed = time.perf_counter() - started
    batch.close()
    return n / elapsed


def _chained(root: DataRoot, n: int) -> float:
    ledger = Ledger(root, host="bench", host_key=load_or_create_host_key(root), max_pending=10**9)
    ledger.open()
    started = time.perf_counter()
    for seq in range(1, n + 1):
        ledger.append(
            plugin_id="agent_example",
            instance_id="a1",
            instance_label="A",
            raw_summary=SUMMARY,
            received_at=START,
        )
        if seq % 5000 == 0:
            ledger.commit()
    ledger.commit()
    elapsed = time.perf_counter() - started
    ledger.close()
    return n / elapsed


def _write_year(root: DataRoot, n: int) -> None:
    ledger = Ledger(root, host="bench", host_key=load_or_create_host_key(root), max_pending=10**9)
    ledger.open()
    per_day = -(-n // 365)
    step = timedelta(seconds=86_400 / per_day)
    for seq in range(n):
        day, index = divmod(seq, per_day)
        ledger.append(
            plugin_id="agent_example",
            instance_id="a1",
            instance_label="A",
            raw_summary=SUMMARY,
            received_at=START + timedelta(days=day) + index * step,
        )
        if seq % 20_000 == 0:
            ledger.commit()
            ledger.sync()
    ledger.close()


def run(ctx: BenchContext) -> list[Figure]:
    n = ctx.scale(full=200_000, quick=50_000)
    log(f"ledger append: {n} summaries unchained (before) and chained (after)")
    before = ctx.median_of(lambda: _unchained(DataRoot.resolve(ctx.tmp_dir("plain")).ensure(), n))
    after = ctx.median_of(lambda: _chained(DataRoot.resolve(ctx.tmp_dir("chain")).ensure(), n))
    year = ctx.scale(full=2_000_000, quick=200_000)
    root = DataRoot.resolve(ctx.tmp_dir("year")).ensure()
    log(f"verify: writing {year} chained records over 365 days")
    _write_year(root, year)
    key = load_or_create_host_key(root).public_raw

    def walk() -> float:
        started = time.perf_counter()
        report = verify(root.evidence_dir, key)
        elapsed = time.perf_counter() - started
        if not report.ok or report.records != year:
            raise RuntimeError(f"the benchmark ledger did not verify: {report.problems[:3]}")
        return elapsed

    verified = ctx.median_of(walk, warmup=0)
    return [
        before.figure(
            "ledger append, before the chain",
            "records/s",
            notes=f"N={n}; the pre-chain Ledger.append (uuid, wrap, batch) + commit, no fsync",
        ),
        after.figure(
            "ledger append with the hash chain",
            "records/s",
            target=f"≥ {CHAINED_TARGET:g}/s",
            verdict=at_least(after.median, CHAINED_TARGET),
            notes=f"N={n}; Ledger.append (+ 2 sha256 and the link) + commit, no fsync; "
            f"{after.median / before.median:.0%} of the unchained rate",
        ),
        verified.figure(
            f"evidence verify of a year ({year:,} records)",
            "s",
            target=f"< {VERIFY_TARGET_S:g} s" if year >= 2_000_000 else "",
            verdict=below(verified.median, VERIFY_TARGET_S) if year >= 2_000_000 else "info",
            notes="365 day files, a signed checkpoint per day; page cache warm",
        ),
    ]
