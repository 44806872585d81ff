"""The same activity for both sides of the ActivityWatch comparison, and its pure arithmetic.

MiMoLo keeps summaries; ActivityWatch keeps events. One active, keep-alive summary becomes
one event lasting its window, with ``data = {client, instance}``; passive summaries have no
ActivityWatch counterpart (they never make work time in MiMoLo either). "Active time per
client" is, in MiMoLo, the per-client segments joined within the cooldown; in ActivityWatch,
each client's events ``flood``-ed with ``pulsetime = cooldown`` (gaps up to it are filled
between equal-data neighbours) and summed by ``merge_events_by_keys``.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

import msgspec

from benchmarks._aw import AwEvent
from benchmarks._core import Verdict

UNASSIGNED = "unassigned"
INGEST_CLIENTS = ("acme", "globex", "initech")


class ActivityRecord(msgspec.Struct, frozen=True):
    """One span of activity (POSIX seconds, UTC) for one client seen by one instance."""

    start: float
    end: float
    client: str
    instance: str


def iso(epoch: float) -> str:
    """ISO-8601 UTC with microseconds, as both sides write timestamps."""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="microseconds")


def synthetic_records(
    n: int, *, start: float, window_s: float = 60.0, seed: int = 7
) -> list[ActivityRecord]:
    """``n`` back-to-back one-minute records across three clients (deterministic)."""
    rng = random.Random(seed)
    records: list[ActivityRecord] = []
    t = start
    client = INGEST_CLIENTS[0]
    for _ in range(n):
        if rng.random() < 0.05:  # switch client now and then, as a working day does
            client = rng.choice(INGEST_CLIENTS)
        records.append(ActivityRecord(t, t + window_s, client, f"folders-{client}"))
        t += window_s
    return records


class SummaryLike(Protocol):
    """What this module reads of a ``mimolo.timeline`` summary."""

    @property
    def instance_id(self) -> str: ...
    @property
    def start(self) -> float: ...
    @property
    def end(self) -> float: ...
    @property
    def mode(self) -> str: ...
    @property
    def keep_alive(self) -> bool | None: ...
    @property
    def client_id(self) -> str | None: ...


def records_from_summaries(
    summaries: Iterable[SummaryLike], client_of_instance: Mapping[str, str] | None = None
) -> list[ActivityRecord]:
    """The activity records of the active, keep-alive summaries (what makes work time)."""
    client_of = client_of_instance or {}
    out: list[ActivityRecord] = []
    for s in summaries:
        if s.mode != "active" or s.keep_alive is not True or s.end < s.start:
            continue
        client = s.client_id or client_of.get(s.instance_id) or UNASSIGNED
        out.append(ActivityRecord(s.start, s.end, client, s.instance_id))
    out.sort(key=lambda r: (r.start, r.end, r.client))
    return out


def aw_events(records: Iterable[ActivityRecord]) -> list[AwEvent]:
    """One ActivityWatch event per record: its start, its length, ``{client, instance}``."""
    return [
        AwEvent(iso(r.start), r.end - r.start, {"client": r.client, "instance": r.instance})
        for r in records
    ]


def clients_of(records: Iterable[ActivityRecord]) -> list[str]:
    """The distinct clients, sorted."""
    return sorted({r.client for r in records})


def per_client_query(bucket: str, clients: Sequence[str], cooldown_s: float) -> list[str]:
    """A query2 program: each client's events flooded over ``cooldown_s``, summed per client.

    (aw-server's ``sum_durations`` would do the summing too; per-client events keep the
    answer comparable with MiMoLo's per-client totals, and the grand total is summed here.)
    """
    if not clients:
        raise ValueError("no clients to query")
    lines = [f'events = query_bucket("{bucket}");']
    names = []
    for i, client in enumerate(clients):
        if '"' in client or "\\" in client:
            raise ValueError(f"client name not usable in a query: {client!r}")
        names.append(f"c{i}")
        lines.append(
            f'c{i} = flood(filter_keyvals(events, "client", ["{client}"]), {cooldown_s:g});'
        )
    merged = names[0]
    for name in names[1:]:
        merged = f"concat({merged}, {name})"
    lines.append(f'RETURN = merge_events_by_keys({merged}, ["client"]);')
    return lines


def per_client_from_aw(result: Iterable[Mapping[str, Any]]) -> dict[str, float]:
    """Seconds per client from the merged events aw-server answers."""
    totals: dict[str, float] = {}
    for event in result:
        client = str(event.get("data", {}).get("client", UNASSIGNED))
        totals[client] = totals.get(client, 0.0) + float(event["duration"])
    return totals


def max_relative_difference(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """The largest |a - b| / max(a, b) over every client either side knows (0 when equal)."""
    worst = 0.0
    for key in set(a) | set(b):
        x, y = a.get(key, 0.0), b.get(key, 0.0)
        top = max(abs(x), abs(y))
        if top > 0:
            worst = max(worst, abs(x - y) / top)
    return worst


def speedup(mimolo_s: float, aw_s: float) -> float:
    """How many times faster MiMoLo was than ActivityWatch (> 1: MiMoLo is faster)."""
    if mimolo_s <= 0:
        return float("inf")
    return aw_s / mimolo_s


def faster(ratio: float) -> Verdict:
    """``pass`` when MiMoLo beat ActivityWatch (DESIGN §12: faster ingest and queries)."""
    return "pass" if ratio > 1.0 else "fail"


__all__ = [
    "INGEST_CLIENTS",
    "UNASSIGNED",
    "ActivityRecord",
    "SummaryLike",
    "aw_events",
    "clients_of",
    "faster",
    "iso",
    "max_relative_difference",
    "per_client_from_aw",
    "per_client_query",
    "records_from_summaries",
    "speedup",
    "synthetic_records",
]
