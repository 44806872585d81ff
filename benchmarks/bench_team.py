"""The team store's figures (DESIGN §12, issue 20), on a private PostgreSQL cluster on this
machine (the tests' recipe: Unix socket, no TCP, ``fsync=off`` — a studio's server with
fsync on and a network between pays for both).

Throughput: 10 simulated hosts — each its own data root, host key, writer role and a real
chained ledger written by ``Ledger`` — ship concurrently (one process each, as ten
machines would), from an empty store; records/s is all records over the wall time from
the start signal to the last host caught up. Target ≥ 50,000/s in total.

Lag: one host's Ledger appends at a steady rate with group commit while its shipper
loops; each sample is the time from a record's commit to the store acknowledging it.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import statistics
import threading
import time
from datetime import UTC, datetime, timedelta
from multiprocessing.synchronize import Event as MpEvent
from pathlib import Path
from typing import NamedTuple

import psycopg

from benchmarks._core import BenchContext, Figure, at_least, log
from mimolo.dataroot import DataRoot
from mimolo.operations.host_key import host_public_key_path, load_or_create_host_key
from mimolo.operations.ledger import Ledger
from mimolo.team.admin import HostKeyFile, add_host, init_db
from mimolo.team.connect import connect
from mimolo.team.sync import Shipper

HOSTS = 10
TARGET = 50_000.0
BATCH = 5000
START = datetime(2026, 5, 1, tzinfo=UTC)
SUMMARY = (
    b'{"type":"summary","timestamp":"2026-05-01T10:00:00Z","agent_id":"a1",'
    b'"agent_label":"A","agent_version":"1.0.0","data":{"activity_signal":'
    b'{"mode":"active","keep_alive":true},"window":{"start":"2026-05-01T09:59:00Z",'
    b'"end":"2026-05-01T10:00:00Z"},"client_id":"acme","n":1.25}}\n'
)


def _host(base: Path, name: str, admin: str) -> tuple[DataRoot, str]:
    root = DataRoot(base / name)
    load_or_create_host_key(root)
    with connect(admin) as conn:
        row = add_host(conn, HostKeyFile.read(host_public_key_path(root)), host_name=name)
    return root, f"{admin} user={row.role_name}"


def _write(root: DataRoot, n: int, *, step: timedelta) -> None:
    ledger = Ledger(root, host=root.root.name, host_key=load_or_create_host_key(root))
    ledger.open()
    for i in range(n):
        ledger.append(
            plugin_id="agent_example",
            instance_id="a1",
            instance_label="A",
            raw_summary=SUMMARY,
            received_at=START + i * step,
        )
        if i % 5000 == 4999:
            ledger.commit()
    ledger.close()


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a local process (the shipper's PostgreSQL backend)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _ship(
    root: str, conninfo: str, go: MpEvent, done: multiprocessing.Queue[tuple[float, float, float]]
) -> None:
    shipper = Shipper(DataRoot(Path(root)), conninfo, batch_size=BATCH)
    shipper.acknowledged()  # connected and checked before the clock starts
    backend = shipper.backend_pid()
    go.wait()
    own, server = time.process_time(), _cpu_s(backend)
    shipper.run_pass()
    ended = time.perf_counter()
    done.put((ended, time.process_time() - own, _cpu_s(backend) - server))
    shipper.close()


class Ingest(NamedTuple):
    rate: float  # records/s, all hosts together
    shipper_us: float  # CPU per record: the shippers' processes
    server_us: float  # CPU per record: their PostgreSQL backends


def _throughput(admin: str, base: Path, per_host: int) -> Ingest:
    hosts = [_host(base, f"h{i}", admin) for i in range(HOSTS)]
    for root, _ in hosts:
        _write(root, per_host, step=timedelta(seconds=2))
    mp = multiprocessing.get_context("spawn")
    go, done = mp.Event(), mp.Queue()
    procs = [
        mp.Process(target=_ship, args=(str(root.root), conninfo, go, done))
        for root, conninfo in hosts
    ]
    for proc in procs:
        proc.start()
    time.sleep(3.0)  # every worker imported and connected
    started = time.perf_counter()
    go.set()
    reports = [done.get(timeout=600) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
    elapsed = max(r[0] for r in reports) - started
    with psycopg.connect(admin) as conn:
        row = conn.execute("SELECT count(*) FROM mimolo.records").fetchone()
    if row is None or row[0] != HOSTS * per_host:
        raise RuntimeError(f"the store holds {row} records, not {HOSTS * per_host}")
    total = HOSTS * per_host
    return Ingest(
        total / elapsed,
        sum(r[1] for r in reports) / total * 1e6,
        sum(r[2] for r in reports) / total * 1e6,
    )


def _lag(admin: str, base: Path, rate: int, seconds: float) -> list[float]:
    root, conninfo = _host(base, "steady", admin)
    ledger = Ledger(root, host="steady", host_key=load_or_create_host_key(root))
    ledger.open()
    stop = threading.Event()
    shipper = Shipper(root, conninfo, batch_size=BATCH)

    def loop() -> None:
        while not stop.is_set():
            shipper.run_pass(stop=stop)
            stop.wait(0.2)

    thread = threading.Thread(target=loop)
    thread.start()
    pending: list[tuple[int, float]] = []
    lags: list[float] = []
    watcher = psycopg.connect(admin, autocommit=True)

    def resolve() -> None:
        row = watcher.execute(
            "SELECT last_seq FROM mimolo.sync_state WHERE host_id = %s", (shipper.host_id,)
        ).fetchone()
        acked, now = (row[0] if row else 0), time.perf_counter()
        while pending and pending[0][0] <= acked:
            lags.append(now - pending.pop(0)[1])

    tick = 0.2
    started = time.perf_counter()
    at = START
    while time.perf_counter() - started < seconds:
        for _ in range(int(rate * tick)):
            at += timedelta(milliseconds=1)
            ledger.append(
                plugin_id="agent_example",
                instance_id="a1",
                instance_label="A",
                raw_summary=SUMMARY,
                received_at=at,
            )
        ledger.commit()
        ledger.sync()
        pending.append((ledger.last_seq, time.perf_counter()))
        until = time.perf_counter() + tick
        while time.perf_counter() < until:
            resolve()
            time.sleep(0.01)
    ledger.close()
    deadline = time.perf_counter() + 60
    while pending and time.perf_counter() < deadline:
        resolve()
        time.sleep(0.01)
    watcher.close()
    stop.set()
    thread.join(timeout=60)
    shipper.close()
    return lags


def run(ctx: BenchContext) -> list[Figure]:
    # the tests' private cluster recipe (tests/team/pg.py), loaded by name: the tests are
    # no package of their own
    private_cluster = importlib.import_module("tests.team.pg").private_cluster
    per_host = ctx.scale(full=100_000, quick=20_000)
    with private_cluster() as cluster:
        admin = cluster.conninfo()
        with connect(admin) as conn:
            init_db(conn)

        runs: list[Ingest] = []

        def once() -> float:
            dbname = cluster.create_database("bench")
            db = cluster.conninfo(dbname)
            with connect(db) as conn:
                init_db(conn)
            log(f"team store: {HOSTS} hosts x {per_host} records into {dbname}")
            runs.append(_throughput(db, ctx.tmp_dir("team"), per_host))
            log(f"  {runs[-1].rate:,.0f}/s, load average {os.getloadavg()[0]:.1f}")
            return runs[-1].rate

        measured = ctx.median_of(once, warmup=0)
        rate, seconds = 2000, ctx.scale(full=20, quick=8)
        log(f"team store: lag at a steady {rate} records/s for {seconds} s")
        lags = _lag(admin, ctx.tmp_dir("lag"), rate, seconds)
    lags.sort()
    shipper_us = statistics.median(r.shipper_us for r in runs)
    server_us = statistics.median(r.server_us for r in runs)
    per_record = shipper_us + server_us
    p50 = statistics.median(lags) if lags else None
    p95 = lags[int(0.95 * (len(lags) - 1))] if lags else None
    mark = f"p95 {p95:.2f} s" if p95 is not None else "no samples"
    return [
        measured.figure(
            f"team store ingest from {HOSTS} hosts",
            "records/s",
            target=f"≥ {TARGET:g}/s",
            verdict=at_least(measured.median, TARGET),
            notes=f"{HOSTS} processes x {per_host} chained records, batches of {BATCH} "
            "(one COPY text buffer into staging, INSERT of the new rising seqs; verified on "
            "arrival, the summary's columns written), one local PostgreSQL 15 on a Unix "
            "socket",
        ),
        Figure(
            name="team store ingest CPU per record (shipper + PostgreSQL backend)",
            value=round(per_record, 1),
            unit="µs",
            notes=f"shipper {shipper_us:.1f} µs + backend {server_us:.1f} µs (median of the "
            f"runs): about {1e6 / per_record:,.0f} records/s per free core, whatever else "
            "the machine runs; the records/s figure depends on what else shares the cores",
        ),
        Figure(
            name=f"team sync lag at a steady {rate} records/s (p50)",
            value=p50,
            unit="s",
            notes="commit (fsync) of a ledger batch to its acknowledgement in the store; "
            f"shipper loop interval 0.2 s; {len(lags)} samples; {mark}",
        ),
    ]
