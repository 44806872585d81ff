"""Many machines, one store, on a real PostgreSQL: hosts shipping concurrently, a week
offline, a ``mimolo sync`` killed mid-pass, PostgreSQL stopped and restarted."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from mimolo.protocol.config_schema import SyncSettings
from mimolo.team.admin import init_db
from mimolo.team.connect import connect
from mimolo.team.service import SyncService
from mimolo.team.sync import Shipper

from ._hosts import SimHost, make_host
from .pg import PgCluster, private_cluster

DEADLINE_S = 120.0


def _stored(conninfo: str, host_id: str) -> tuple[int, int, int]:
    with psycopg.connect(conninfo) as conn:
        row = conn.execute(
            "SELECT count(*), count(DISTINCT seq), coalesce(max(seq), 0) FROM mimolo.records"
            " WHERE host_id = %s",
            (host_id,),
        ).fetchone()
    assert row is not None
    return row[0], row[1], row[2]


def _acked(conninfo: str, host_id: str) -> int:
    with psycopg.connect(conninfo) as conn:
        row = conn.execute(
            "SELECT last_seq FROM mimolo.sync_state WHERE host_id = %s", (host_id,)
        ).fetchone()
    return row[0] if row else 0


def _wait(predicate: object, what: str, deadline_s: float = DEADLINE_S) -> None:
    end = time.monotonic() + deadline_s
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.mark.parametrize("hosts", [2, 5])
def test_hosts_sync_concurrently_into_one_store(team_db: str, tmp_path: Path, hosts: int) -> None:
    machines = [make_host(tmp_path, f"ws{i}", team_db) for i in range(hosts)]
    for i, host in enumerate(machines):
        host.write(1500 + 100 * i)

    def ship(host: SimHost) -> int:
        shipper = Shipper(host.root, host.conninfo, batch_size=250)
        try:
            total = 0
            for _ in range(3):  # a second and third pass find nothing new
                total += shipper.run_pass().records
            return total
        finally:
            shipper.close()

    with ThreadPoolExecutor(max_workers=hosts) as pool:
        shipped = list(pool.map(ship, machines))
    assert shipped == [1500 + 100 * i for i in range(hosts)]
    for i, host in enumerate(machines):
        n = 1500 + 100 * i
        assert _stored(team_db, host.host_id) == (n, n, n)
    with psycopg.connect(team_db) as conn:
        assert conn.execute("SELECT count(*) FROM mimolo.chain_breaks").fetchone() == (0,)
        total = conn.execute("SELECT count(*) FROM mimolo.records").fetchone()
        kept = conn.execute(  # the trigger's per host-day counts, under concurrent writers
            "SELECT host_id, day, records, max_seq FROM mimolo.host_days ORDER BY 1, 2"
        ).fetchall()
        counted = conn.execute(
            "SELECT host_id, (received_at AT TIME ZONE 'UTC')::date AS day, count(*), max(seq)"
            " FROM mimolo.records GROUP BY 1, 2 ORDER BY 1, 2"
        ).fetchall()
    assert total == (sum(shipped),)
    assert kept == counted and len(kept) >= hosts


def test_a_week_offline_then_catch_up(team_db: str, tmp_path: Path) -> None:
    host = make_host(tmp_path, "laptop", team_db)
    step = timedelta(minutes=10)
    host.write(144 * 2, step=step)  # two days, shipped
    shipper = Shipper(host.root, host.conninfo, batch_size=500)
    assert shipper.run_pass().records == 288
    shipper.close()
    for _ in range(7):  # a week away: one Operations run a day, nothing shipped
        host.write(144, step=step)
    assert _stored(team_db, host.host_id)[0] == 288
    shipper = Shipper(host.root, host.conninfo, batch_size=500)
    result = shipper.run_pass()
    shipper.close()
    total = 288 + 7 * 144
    assert result.caught_up and result.records == 7 * 144
    assert _stored(team_db, host.host_id) == (total, total, total)
    with psycopg.connect(team_db) as conn:
        days = conn.execute(
            "SELECT count(DISTINCT day) FROM mimolo.checkpoints"
            " WHERE host_id = %s AND kind = 'day_close' AND signature_ok",
            (host.host_id,),
        ).fetchone()
        breaks = conn.execute("SELECT count(*) FROM mimolo.chain_breaks").fetchone()
    assert days is not None and days[0] >= 8  # every finished day sealed and shipped
    assert breaks == (0,)


def test_a_killed_sync_resumes_with_no_duplicates_and_no_gaps(team_db: str, tmp_path: Path) -> None:
    host = make_host(tmp_path, "ws1", team_db)
    total = host.write(60_000, step=timedelta(seconds=5))
    command = [
        sys.executable, "-m", "mimolo", "sync", "--once", "--batch-size", "500",
        "--json", "--data-dir", str(host.root.root), "--conninfo", host.conninfo,
    ]  # fmt: skip
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait(lambda: _acked(team_db, host.host_id) >= 2000, "the first batches")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    acked = _acked(team_db, host.host_id)
    count, distinct, top = _stored(team_db, host.host_id)
    assert count == distinct == top == acked < total  # whole batches only, nothing after
    done = subprocess.run(command, capture_output=True, timeout=300, check=True)
    assert b'"lag_records": 0' in done.stdout
    assert _stored(team_db, host.host_id) == (total, total, total)


def test_postgresql_stopped_and_restarted_during_sync(tmp_path: Path) -> None:
    with private_cluster() as cluster:
        admin = cluster.conninfo()
        with connect(admin) as conn:
            init_db(conn)
        host = make_host(tmp_path, "ws1", admin)
        host.write(3000)
        asyncio.run(_restart_during_sync(cluster, host, admin))


async def _restart_during_sync(cluster: PgCluster, host: SimHost, admin: str) -> None:
    events: list[str] = []
    service = SyncService(
        host.root,
        SyncSettings(conninfo=host.conninfo, interval_s=1.0, batch_size=200),
        on_event=lambda event, _: events.append(event),
    )
    task = asyncio.create_task(service.run())
    try:
        await _until(lambda: service.acked_seq == 3000, "the first catch-up")
        await asyncio.to_thread(cluster.stop)
        await asyncio.to_thread(host.write, 2000)  # written while the store is away
        await _until(lambda: service.failures > 0, "a failed pass")
        status = service.status()
        assert status["state"] == "backing_off"
        assert status["last_error"]["code"] == "team_unreachable"
        assert status["lag_records"] == 2000
        await asyncio.to_thread(cluster.start)
        await _until(lambda: service.acked_seq == 5000, "the catch-up after the restart")
        assert service.status()["last_error"] is None
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert "sync_failed" in events and "sync_recovered" in events
    assert _stored(admin, host.host_id) == (5000, 5000, 5000)


async def _until(predicate: object, what: str) -> None:
    end = time.monotonic() + DEADLINE_S
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
