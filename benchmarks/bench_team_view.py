"""The team view's figure (issue 20): the team timeline of a month over 10 hosts.

A private PostgreSQL cluster on this machine (Unix socket, no TCP). Ten simulated hosts
— each its own data root, host key and writer role — write a month of the demo
generator's evidence (three folder agents, the screen and, in a full run, the desktop
agent's application summaries; one summary a minute per agent) through the real chained
``Ledger`` and ship it with the real ``Shipper``. Then Control's ``TeamSource``, through
the reader role, reads and derives the whole month for every host: cold (a fresh source:
fetch, decode, derive) and warm (the same source again: every host-day is checked against
the store, none is fetched). Target < 1 s.
"""

from __future__ import annotations

import importlib
from datetime import UTC, date, datetime
from pathlib import Path

import msgspec

from benchmarks._core import BenchContext, Figure, below, log
from mimolo.control.team_source import TeamSource
from mimolo.dataroot import DataRoot
from mimolo.operations.host_key import host_public_key_path, load_or_create_host_key
from mimolo.operations.ledger import Ledger
from mimolo.protocol.evidence import EvidenceRecord
from mimolo.team.admin import HostKeyFile, add_host, add_reader, init_db
from mimolo.team.connect import connect
from mimolo.team.sync import Shipper
from mimolo.timeline.demo import DemoSpec, generate

HOSTS = 10
TARGET_S = 1.0
MONTH_END = date(2026, 3, 31)
START = datetime(2026, 3, 1, tzinfo=UTC)
END = datetime(2026, 4, 1, tzinfo=UTC)
READER = "bench_reader"

_records = msgspec.json.Decoder(EvidenceRecord)


def _host(base: Path, n: int, admin: str, desktop: bool) -> int:
    """One machine: key, writer role, a month of chained evidence, shipped; its records."""
    root = DataRoot(base / f"ws{n:02d}")
    key = load_or_create_host_key(root)
    with connect(admin) as conn:
        row = add_host(
            conn, HostKeyFile.read(host_public_key_path(root)), host_name=root.root.name,
            person=f"person{n % 4}",
        )  # fmt: skip
    ledger = Ledger(root, host=root.root.name, host_key=key)
    ledger.open()
    count = 0
    for _, payload in generate(DemoSpec(days=31, seed=n, end=MONTH_END, desktop=desktop)):
        for line in payload.splitlines():
            rec = _records.decode(line)
            ledger.append(
                plugin_id=rec.plugin_id, instance_id=rec.instance_id,
                instance_label=rec.instance_label, raw_summary=bytes(rec.record) + b"\n",
                received_at=rec.received_at,
            )  # fmt: skip
            count += 1
        ledger.commit()
    ledger.sync()
    ledger.close()
    shipper = Shipper(root, f"{admin} user={row.role_name}")
    try:
        shipper.run_pass()
    finally:
        shipper.close()
    return count


def run(ctx: BenchContext) -> list[Figure]:
    # the tests' private cluster recipe (tests/team/pg.py), loaded by name: the tests are
    # no package of their own
    private_cluster = importlib.import_module("tests.team.pg").private_cluster

    desktop = not ctx.quick
    with private_cluster() as cluster:
        admin = cluster.conninfo(cluster.create_database("view"))
        with connect(admin) as conn:
            init_db(conn)
            add_reader(conn, READER)
        base = ctx.tmp_dir("team-view")
        log(f"team view: {HOSTS} hosts x a month of demo evidence (desktop={desktop})")
        records = sum(_host(base, n, admin, desktop) for n in range(HOSTS))
        with connect(admin, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE mimolo.records")
        reader = f"{admin} user={READER}"
        segments = 0

        def cold() -> float:
            nonlocal segments
            source = TeamSource.connect(reader)
            try:
                source.reader.hosts()  # connected before the clock starts
                seconds = ctx.time_call(lambda: source.load_timeline(START, END))
                segments = len(source.load_timeline(START, END).timeline.segments)
            finally:
                source.close()
            return seconds

        warm_source = TeamSource.connect(reader)
        try:
            warm_source.load_timeline(START, END)
            cold_m = ctx.median_of(cold)
            warm_m = ctx.median_of(
                lambda: ctx.time_call(lambda: warm_source.load_timeline(START, END))
            )
        finally:
            warm_source.close()
    notes = (
        f"{records} records of {HOSTS} hosts (a month, one summary a minute per agent), "
        f"{segments} segments; reader role on a local PostgreSQL 15 over a Unix socket"
    )
    return [
        cold_m.figure(
            f"team timeline of a month over {HOSTS} hosts, cold",
            "s", target=f"< {TARGET_S:g} s", verdict=below(cold_m.median, TARGET_S),
            notes=notes + "; a fresh source: fetch, decode, derive",
        ),
        warm_m.figure(
            f"team timeline of a month over {HOSTS} hosts, warm",
            "s", target=f"< {TARGET_S:g} s", verdict=below(warm_m.median, TARGET_S),
            notes=notes + "; host-days checked against the store, none fetched again",
        ),
    ]  # fmt: skip
