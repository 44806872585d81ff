"""Simulated machines with a working week each, written through the real chained
``Ledger`` and shipped with the real ``Shipper``; the reader role Control uses."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import msgspec

from mimolo.operations.host_key import load_or_create_host_key
from mimolo.operations.ledger import Ledger
from mimolo.protocol.evidence import EvidenceRecord
from mimolo.team.admin import add_reader
from mimolo.team.connect import connect
from mimolo.team.sync import Shipper
from mimolo.team.timeline import qualify, unite
from mimolo.timeline import TimelinePolicy, timeline_for
from mimolo.timeline.demo import DemoSpec, generate
from mimolo.timeline.models import Segment, Timeline

from ._hosts import SimHost, make_host

WEEK_END = date(2026, 3, 6)  # Friday; the demo week is Mon 2 .. Fri 6 March 2026
WEEK_START = datetime(2026, 3, 2, tzinfo=UTC)
READER = "control_reader"

_records = msgspec.json.Decoder(EvidenceRecord)


@dataclass
class TeamHost:
    sim: SimHost
    person: str
    lines: int = 0


def write_week(host: SimHost, seed: int, *, days: int = 5, end: date = WEEK_END) -> int:
    """The demo generator's week, appended through a real Ledger (hash-chained)."""
    ledger = Ledger(host.root, host=host.name, host_key=load_or_create_host_key(host.root))
    ledger.open()
    count = 0
    for _, payload in generate(DemoSpec(days=days, seed=seed, end=end)):
        for line in payload.splitlines():
            rec = _records.decode(line)
            ledger.append(
                plugin_id=rec.plugin_id,
                instance_id=rec.instance_id,
                instance_label=rec.instance_label,
                raw_summary=bytes(rec.record) + b"\n",
                received_at=rec.received_at,
            )
            count += 1
            if count % 2000 == 0:
                ledger.commit()
    ledger.commit()
    ledger.sync()
    ledger.close()
    return count


def ship(host: SimHost) -> None:
    shipper = Shipper(host.root, host.conninfo)
    try:
        result = shipper.run_pass()
    finally:
        shipper.close()
    assert result.caught_up, result


def make_team(base: Path, admin: str, people: Iterable[tuple[str, str]]) -> list[SimHost]:
    """A machine per ``(name, person)``, each with its own week, synced."""
    hosts = []
    for seed, (name, person) in enumerate(people, start=1):
        host = make_host(base, name, admin, person=person)
        write_week(host, seed)
        ship(host)
        hosts.append(host)
    return hosts


def reader_conninfo(admin: str) -> str:
    with connect(admin) as conn:
        add_reader(conn, READER)
    return f"{admin} user={READER}"


def local_union(
    hosts: Iterable[SimHost],
    start: datetime,
    end: datetime,
    *,
    group_by_client: bool = True,
    client_id: str | None = None,
) -> Timeline:
    """What each machine's own Control derives from its own files, united."""
    segments: list[Segment] = []
    policy = TimelinePolicy(group_by_client=group_by_client)
    for host in hosts:
        own, warnings = timeline_for(host.root, start, end, policy, client_id=client_id, cache=None)
        assert warnings == []
        segments.extend(qualify(s, host.name) for s in own.segments)
    return unite(segments)


def day(n: int) -> datetime:
    return WEEK_START + timedelta(days=n)


__all__ = [
    "READER", "WEEK_END", "WEEK_START", "day", "local_union", "make_team",
    "reader_conninfo", "ship", "write_week",
]  # fmt: skip
