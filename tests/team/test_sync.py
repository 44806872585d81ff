"""The shipper against a real PostgreSQL: real chained ledgers, idempotent batches,
replays, verification on arrival."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from mimolo.errors import TeamStoreError
from mimolo.team.sync import Shipper

from ._hosts import make_host


def _count(conninfo: str, host_id: str) -> tuple[int, int, int]:
    with psycopg.connect(conninfo) as conn:
        row = conn.execute(
            "SELECT count(*), count(DISTINCT seq), coalesce(max(seq), 0) FROM mimolo.records"
            " WHERE host_id = %s",
            (host_id,),
        ).fetchone()
    assert row is not None
    return row[0], row[1], row[2]


def _breaks(conninfo: str, host_id: str) -> list[tuple[int, str]]:
    with psycopg.connect(conninfo) as conn:
        return [
            (r[0], r[1])
            for r in conn.execute(
                "SELECT seq, kind FROM mimolo.chain_breaks WHERE host_id = %s ORDER BY seq, kind",
                (host_id,),
            ).fetchall()
        ]


def test_a_pass_ships_every_record_across_months_in_bounded_batches(
    team_db: str, tmp_path: Path
) -> None:
    host = make_host(tmp_path, "ws1", team_db)
    last = host.write(4000)  # 30 March 08:00 + 4000 minutes: into April
    shipper = Shipper(host.root, host.conninfo, batch_size=700)
    result = shipper.run_pass()
    shipper.close()
    assert result.caught_up and result.acked_seq == last == result.local_seq
    assert result.batches == 6 and all(b.lines <= 700 for b in result.results)
    assert result.breaks == 0
    assert _count(team_db, host.host_id) == (4000, 4000, 4000)
    with psycopg.connect(team_db) as conn:
        parts = conn.execute(
            "SELECT tableoid::regclass::text, count(*) FROM mimolo.records GROUP BY 1 ORDER BY 1"
        ).fetchall()
        assert [p.split(".")[-1] for p, _ in parts] == ["records_y2026m03", "records_y2026m04"]
        state = conn.execute(
            "SELECT last_seq, records FROM mimolo.sync_state WHERE host_id = %s", (host.host_id,)
        ).fetchone()
        assert state == (4000, 4000)
        kinds = conn.execute(
            "SELECT kind, signature_ok FROM mimolo.checkpoints WHERE host_id = %s", (host.host_id,)
        ).fetchall()
        assert kinds and all(ok for _, ok in kinds)
        assert {"day_close", "shutdown"} <= {k for k, _ in kinds}
        # the stored line is the ledger line, byte for byte
        line = conn.execute(
            "SELECT line FROM mimolo.records WHERE host_id = %s AND seq = 1", (host.host_id,)
        ).fetchone()
    first = sorted(host.root.evidence_dir.glob("*/*.evidence.jsonl"))[0].read_bytes()
    assert line is not None and first.split(b"\n")[0] == line[0].encode()


def test_a_second_pass_and_a_replay_of_old_seqs_store_nothing_twice(
    team_db: str, tmp_path: Path
) -> None:
    host = make_host(tmp_path, "ws1", team_db)
    host.write(1500)
    shipper = Shipper(host.root, host.conninfo, batch_size=400)
    shipper.run_pass()
    assert shipper.run_pass().records == 0
    replayed = 0
    after = 0
    while True:  # the host replays everything from seq 0
        batch = shipper.ship_batch(after_seq=after)
        if batch.lines == 0:
            break
        replayed += batch.stored
        after += batch.lines
    assert replayed == 0
    host.write(200)
    assert shipper.run_pass().records == 200
    shipper.close()
    assert _count(team_db, host.host_id) == (1700, 1700, 1700)
    assert _breaks(team_db, host.host_id) == []


def test_a_tampered_record_is_flagged_on_arrival_and_still_stored(
    team_db: str, tmp_path: Path
) -> None:
    host = make_host(tmp_path, "ws1", team_db)
    host.write(50)
    day = sorted(host.root.evidence_dir.glob("*/*.evidence.jsonl"))[0]
    data = day.read_bytes()
    assert b'"n":20}' in data
    day.write_bytes(data.replace(b'"n":20}', b'"n":99}', 1))
    shipper = Shipper(host.root, host.conninfo)
    result = shipper.run_pass()
    shipper.close()
    assert result.breaks == 1
    assert _breaks(team_db, host.host_id) == [(20, "edited")]
    assert _count(team_db, host.host_id) == (50, 50, 50)


def test_a_removed_line_is_a_gap_and_an_unlinked_record(team_db: str, tmp_path: Path) -> None:
    host = make_host(tmp_path, "ws1", team_db)
    host.write(30)
    day = sorted(host.root.evidence_dir.glob("*/*.evidence.jsonl"))[0]
    lines = day.read_bytes().split(b"\n")
    day.write_bytes(b"\n".join(lines[:9] + lines[10:]))
    shipper = Shipper(host.root, host.conninfo)
    shipper.run_pass()
    shipper.close()
    assert _breaks(team_db, host.host_id) == [(11, "gap"), (11, "unlinked")]
    assert _count(team_db, host.host_id) == (29, 29, 30)


def test_a_role_for_another_host_is_refused_before_anything_travels(
    team_db: str, tmp_path: Path
) -> None:
    a = make_host(tmp_path, "a", team_db)
    b = make_host(tmp_path, "b", team_db)
    a.write(10)
    with pytest.raises(TeamStoreError) as caught:
        Shipper(a.root, b.conninfo).run_pass()
    assert caught.value.code == "team_host_unknown"
    assert _count(team_db, a.host_id) == (0, 0, 0)


def test_a_seq_is_stored_once_whatever_time_a_rewritten_ledger_gives_it(
    team_db: str, tmp_path: Path
) -> None:
    """(host_id, seq, received_at) is the key (the partition key must be in it): the
    shipper itself keeps one row per seq, and flags the other bytes."""
    host = make_host(tmp_path, "ws1", team_db)
    host.write(40)
    early = Shipper(host.root, host.conninfo, batch_size=25)
    assert early.ship_batch(after_seq=10).lines == 25  # stored 11..35, not acknowledged
    early.close()
    day = sorted(host.root.evidence_dir.glob("*/*.evidence.jsonl"))[0]
    data = day.read_bytes()
    stamp = b'"received_at":"2026-03-30T08:20:00Z"'  # seq 20's time, moved a second on
    assert data.count(stamp) == 1
    day.write_bytes(data.replace(stamp, b'"received_at":"2026-03-30T08:20:01Z"'))
    shipper = Shipper(host.root, host.conninfo, batch_size=25)  # a fresh read of the files
    result = shipper.run_pass()
    shipper.close()
    assert result.caught_up and result.acked_seq == 40
    assert _count(team_db, host.host_id) == (40, 40, 40)
    assert _breaks(team_db, host.host_id) == [(20, "edited")]  # the bytes, not the seq's row
    with psycopg.connect(team_db) as conn:
        days = conn.execute(
            "SELECT sum(records), max(max_seq) FROM mimolo.host_days WHERE host_id = %s",
            (host.host_id,),
        ).fetchone()
    assert days == (40, 40)


def test_a_batch_that_repeats_a_seq_keeps_its_first_row(team_db: str, tmp_path: Path) -> None:
    host = make_host(tmp_path, "ws1", team_db)
    host.write(12)
    day = sorted(host.root.evidence_dir.glob("*/*.evidence.jsonl"))[0]
    lines = day.read_bytes().split(b"\n")
    again = lines[4].replace(b'"received_at":"2026-03-30T08:05:00Z"',
                             b'"received_at":"2026-03-30T08:05:30Z"')  # fmt: skip
    assert again != lines[4]
    day.write_bytes(b"\n".join([*lines[:5], again, *lines[5:]]))
    shipper = Shipper(host.root, host.conninfo)
    result = shipper.run_pass()
    shipper.close()
    assert _count(team_db, host.host_id) == (12, 12, 12)
    assert result.records == 12
    assert (5, "out_of_order") in _breaks(team_db, host.host_id)
    with psycopg.connect(team_db) as conn:
        kept = conn.execute(
            "SELECT line FROM mimolo.records WHERE host_id = %s AND seq = 5", (host.host_id,)
        ).fetchall()
    assert kept == [(lines[4].decode(),)]
