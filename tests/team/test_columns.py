"""The summary columns (migration 0002) on a real PostgreSQL: written by the shipper,
backfilled for a version-1 store's rows, counted per host-day by the store's trigger, and
read back into exactly the summaries the local reader decodes from the lines."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from mimolo.errors import TeamStoreError
from mimolo.operations.host_key import load_or_create_host_key
from mimolo.operations.ledger import Ledger
from mimolo.team.reader import TeamReader
from mimolo.team.schema import apply_migrations, migrations
from mimolo.team.sync import Shipper
from mimolo.timeline.models import TimelineSummary
from mimolo.timeline.reader import parse_lines

from ._hosts import make_host
from .pg import PgCluster

COLUMNS = "span_start, span_end, mode, keep_alive, client_id"
AT = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
HOST = "00112233445566ff"


def _record(**data: Any) -> dict[str, Any]:
    return {"type": "summary", "timestamp": "2026-03-10T09:00:00Z", "data": data}


ACTIVE = {"mode": "active", "keep_alive": True}
# (what the record is, whether the backfill must fill it)
RECORDS: list[tuple[dict[str, Any], bool]] = [
    (_record(activity_signal=ACTIVE, client_id="acme",
             window={"start": "2026-03-10T08:59:00Z", "end": "2026-03-10T09:00:00Z"}), True),
    (_record(activity_signal={"mode": "passive", "keep_alive": None},
             window={"start": "2026-03-10T10:59:00.123456+02:00",
                     "end": "2026-03-10T11:00:00.5+02:00"}), True),
    (_record(activity_signal=ACTIVE), True),  # no window: the timestamp twice
    (_record(activity_signal=ACTIVE, window=None, client_id=None), True),
    (_record(client_id="beta"), True),  # no signal: passive
    (_record(activity_signal=None), True),
    ({"type": "summary", "timestamp": "2026-03-10T09:00:00-05:30"}, True),  # no data
    ({"type": "heartbeat", "timestamp": "2026-03-10T09:00:00Z", "data": {}}, False),
    (_record(window={"start": "2026-03-10T09:00:00Z", "end": "2026-03-10T08:00:00Z"}), False),
    (_record(window={"start": "2026-02-30T09:00:00Z", "end": "2026-03-10T09:00:00Z"}), False),
    (_record(window={"start": "2026-03-10T09:00:00", "end": "2026-03-10T09:01:00"}), False),
    (_record(window={"start": "2026-03-10T09:00:00.1234567Z",
                     "end": "2026-03-10T09:01:00Z"}), False),
    (_record(client_id=7), False),
    (_record(activity_signal={"mode": "idle"}), False),
    (_record(activity_signal={"keep_alive": True}), False),
    (_record(activity_signal={"mode": "active", "keep_alive": "yes"}), False),
    ({"type": "summary", "timestamp": "2026-03-10T09:00:00Z", "data": None}, False),
    ({"type": "summary", "timestamp": "yesterday", "data": {}}, False),
]  # fmt: skip


def _line(seq: int, record: dict[str, Any]) -> str:
    received = (AT + timedelta(minutes=seq)).isoformat().replace("+00:00", "Z")
    return json.dumps(
        {"seq": seq, "id": f"r{seq}", "received_at": received, "plugin_id": "agent_example",
         "instance_id": "a1", "instance_label": "A", "record": record},
        separators=(",", ":"),
    )  # fmt: skip


def _expected(line: str) -> TimelineSummary | None:
    got, _ = parse_lines(line.encode() + b"\n", "x")
    return got[0] if got else None


def _version_one(conninfo: str) -> None:
    """A store as version 1 left it (what `init-db` made before 0002 existed)."""
    first = migrations()[0]
    with psycopg.connect(conninfo) as conn:
        conn.execute("CREATE SCHEMA mimolo")
        conn.execute(
            "CREATE TABLE mimolo.schema_version (version integer PRIMARY KEY,"
            " name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        conn.execute(first.sql.encode())
        conn.execute("INSERT INTO mimolo.schema_version VALUES (1, %s)", (first.name,))


def test_the_backfill_fills_exactly_what_the_local_reader_decodes(
    pg_cluster: PgCluster,
) -> None:
    conninfo = pg_cluster.conninfo(pg_cluster.create_database("v1"))
    _version_one(conninfo)
    lines = [_line(n, record) for n, (record, _) in enumerate(RECORDS, 1)]
    with psycopg.connect(conninfo) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        conn.execute(
            "INSERT INTO mimolo.hosts (host_id, host_name, public_key) VALUES (%s, 'old', '')",
            (HOST,),
        )
        conn.execute("SELECT mimolo.ensure_month(%s)", (AT,))
        for n, line in enumerate(lines, 1):
            record = json.loads(line)["record"]
            conn.execute(
                "INSERT INTO mimolo.records (host_id, seq, id, received_at, plugin_id,"
                " instance_id, instance_label, record, line)"
                " VALUES (%s, %s, %s, %s, 'agent_example', 'a1', 'A', %s, %s)",
                (HOST, n, f"r{n}", AT + timedelta(minutes=n), json.dumps(record), line),
            )
        conn.commit()
        assert [m.version for m in apply_migrations(conn)] == [2]
        rows = conn.execute(f"SELECT seq, {COLUMNS} FROM mimolo.records ORDER BY seq").fetchall()
        days = conn.execute(
            "SELECT host_id, day, records, max_seq FROM mimolo.host_days"
        ).fetchall()
    assert days == [(HOST, AT.date(), len(RECORDS), len(RECORDS))]
    for (seq, *columns), line, (_, certain) in zip(rows, lines, RECORDS, strict=True):
        want = _expected(line)
        if columns[0] is None:
            assert not certain, f"seq {seq}: the backfill left a certain record out"
            continue
        assert want is not None, f"seq {seq}: filled, but the local reader decodes nothing"
        assert tuple(columns) == (want.start, want.end, want.mode, want.keep_alive,
                                  want.client_id), f"seq {seq}"  # fmt: skip
    # and the team view reads them as the local reader reads the lines
    reader = TeamReader(conninfo)
    try:
        (host,) = reader.summaries(AT - timedelta(days=1), AT + timedelta(days=1))
    finally:
        reader.close()
    local, warnings = parse_lines("\n".join(lines).encode() + b"\n", "old")
    assert host.summaries == local
    assert host.warnings == warnings and warnings  # seq n is line n here


def test_the_shipper_writes_the_columns_of_every_record(team_db: str, tmp_path: Path) -> None:
    host = make_host(tmp_path, "ws1", team_db)
    ledger = Ledger(host.root, host="ws1", host_key=load_or_create_host_key(host.root))
    ledger.open()
    for n, (record, _) in enumerate(RECORDS, 1):
        ledger.append(
            plugin_id="agent_example", instance_id="a1", instance_label="A",
            raw_summary=json.dumps(record).encode() + b"\n",
            received_at=AT + timedelta(hours=n * 3),  # over several days
        )  # fmt: skip
    ledger.commit()
    ledger.close()
    shipper = Shipper(host.root, host.conninfo, batch_size=5)
    shipper.run_pass()
    shipper.run_pass()  # nothing new: nothing counted twice
    shipper.close()
    with psycopg.connect(team_db) as conn:
        rows = conn.execute(f"SELECT line, {COLUMNS} FROM mimolo.records ORDER BY seq").fetchall()
        days = conn.execute(
            "SELECT day, records, max_seq FROM mimolo.host_days WHERE host_id = %s ORDER BY day",
            (host.host_id,),
        ).fetchall()
        counted = conn.execute(
            "SELECT (received_at AT TIME ZONE 'UTC')::date AS day, count(*), max(seq)"
            " FROM mimolo.records GROUP BY day ORDER BY day"
        ).fetchall()
    assert len(rows) == len(RECORDS)
    for line, *columns in rows:
        want = _expected(line)
        got = None if columns[0] is None else tuple(columns)
        assert got == (
            None if want is None
            else (want.start, want.end, want.mode, want.keep_alive, want.client_id)
        ), line  # fmt: skip
    assert days == counted and len(days) > 1


def test_the_shipper_refuses_a_store_of_version_one(pg_cluster: PgCluster, tmp_path: Path) -> None:
    conninfo = pg_cluster.conninfo(pg_cluster.create_database("v1"))
    _version_one(conninfo)
    host = make_host(tmp_path, "ws1", conninfo)
    host.write(3)
    with pytest.raises(TeamStoreError) as caught:
        Shipper(host.root, host.conninfo).run_pass()
    assert caught.value.code == "team_schema_missing"
    assert "init-db" in caught.value.message
    reader = TeamReader(conninfo)
    try:
        with pytest.raises(TeamStoreError) as read:
            reader.summaries(AT, AT + timedelta(days=1))
    finally:
        reader.close()
    assert read.value.code == "team_schema_missing" and "init-db" in read.value.message


def test_record_is_left_to_the_line_and_record_doc_reads_it(team_db: str, tmp_path: Path) -> None:
    host = make_host(tmp_path, "ws1", team_db)
    host.write(5)
    shipper = Shipper(host.root, host.conninfo)
    shipper.run_pass()
    shipper.close()
    with psycopg.connect(team_db) as conn:
        rows = conn.execute(
            "SELECT record, mimolo.record_doc(line), line FROM mimolo.records ORDER BY seq"
        ).fetchall()
        nul = _line(1, _record(client_id="a\x00b"))  # json: "a\\u0000b"
        odd = conn.execute(
            "SELECT mimolo.record_doc(%s), mimolo.record_doc('not json'), mimolo.record_doc(%s)",
            (nul, _line(2, _record(client_id="ok"))),
        ).fetchone()
    assert len(rows) == 5
    for record, doc, line in rows:
        assert record is None and doc == json.loads(line)["record"]
    assert odd is not None and odd[0] is None and odd[1] is None
    assert odd[2]["data"]["client_id"] == "ok"
