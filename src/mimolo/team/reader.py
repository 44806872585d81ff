"""Reading the team store for the team view (``mimolo control --team``): read-only.

Per range, the store's per host-day counts say which host-days the cache lacks; those
arrive as the plain columns the shipper wrote (``columns``: no JSON on the way), and a
record without them as its line, decoded by the local reader's own ``parse_lines``. So a
team range yields the same summaries, and the same derivation, as each machine's files.
The session is read-only on top of the reader role's privileges.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec
import psycopg

from mimolo.team.columns import SELECT_COLUMNS, host_days
from mimolo.team.connect import Conn, as_team_error, connect
from mimolo.team.day_cache import Fingerprint, HostDay, HostDayCache, Key
from mimolo.timeline.models import TimelineSummary, to_epoch
from mimolo.timeline.reader import ReadWarning

log = logging.getLogger(__name__)


class TeamHost(msgspec.Struct, frozen=True, kw_only=True):
    """A machine of the team store."""

    host_id: str
    host_name: str
    person: str = ""

    @property
    def label(self) -> str:
        """How the views name the host (its name; the id when it has none)."""
        return self.host_name or self.host_id


class TeamFilter(msgspec.Struct, frozen=True, kw_only=True):
    """Server-side filters: one host (by id), one person, one client (``None``: all)."""

    host_id: str | None = None
    person: str | None = None
    client_id: str | None = None


EVERY = TeamFilter()


class HostSummaries(msgspec.Struct, kw_only=True):
    """One host's summaries of a range, as the local reader would have decoded them."""

    host: TeamHost
    summaries: list[TimelineSummary]
    warnings: list[ReadWarning]


class RawRow(msgspec.Struct, frozen=True, kw_only=True):
    """One stored ledger line, untouched, with its host (the Evidence view)."""

    host: TeamHost
    seq: int
    line: str


class HostChainRow(msgspec.Struct, frozen=True, kw_only=True):
    """What the collector knows of a host's chain: records, last seq, flagged breaks."""

    host: TeamHost
    records: int
    last_seq: int | None
    breaks: list[str]


# A record's summary as jsonb, for the rare record without columns (version 1 stored
# `record`; later ones leave it to the line).
_DOC = "coalesce(r.record, mimolo.record_doc(r.line))"
_CLIENT = (
    f"CASE WHEN r.span_start IS NULL THEN {_DOC} #>> '{{data,client_id}}' ELSE r.client_id END"
)

# Filters on a record: its time (month partitions pruned on received_at), host, person,
# client (the shipper's column; the summary's own for a record without columns).
_FILTERS = f"""
r.received_at >= %(lo)s AND r.received_at < %(hi)s
AND (%(host_id)s::text IS NULL OR r.host_id = %(host_id)s)
AND (%(person)s::text IS NULL OR h.person = %(person)s)
AND (%(client_id)s::text IS NULL OR coalesce({_CLIENT}, %(client_id)s) = %(client_id)s)
"""

# Constant fragments joined at import; every value is a bound parameter. The host-days'
# counts are kept by the store's trigger (0002): no scan of the records.
FINGERPRINT_SQL = """
SELECT h.host_id, h.host_name, h.person, d.day, d.records, d.max_seq
FROM mimolo.host_days d JOIN mimolo.hosts h ON h.host_id = d.host_id
WHERE d.day >= %(lo_day)s AND d.day < %(hi_day)s
AND (%(host_id)s::text IS NULL OR d.host_id = %(host_id)s)
AND (%(person)s::text IS NULL OR h.person = %(person)s)
"""

DAYS_SQL = f"""
SELECT {SELECT_COLUMNS}
FROM mimolo.records r
JOIN unnest(%(hosts)s::text[], %(days)s::date[]) AS k (host_id, day)
  ON k.host_id = r.host_id AND k.day = (r.received_at AT TIME ZONE 'UTC')::date
WHERE r.received_at >= %(lo)s AND r.received_at < %(hi)s
"""  # noqa: S608

RAW_SQL = f"""
SELECT h.host_id, h.host_name, h.person, r.seq, r.line
FROM mimolo.records r JOIN mimolo.hosts h ON h.host_id = r.host_id
WHERE {_FILTERS}
AND (%(instance_id)s::text IS NULL OR r.instance_id = %(instance_id)s)
AND (NOT %(active_only)s OR CASE WHEN r.span_start IS NULL
        THEN {_DOC} #>> '{{data,activity_signal,mode}}' ELSE r.mode END = 'active')
ORDER BY h.host_name, h.host_id, r.seq
LIMIT %(limit)s
"""  # noqa: S608

HOSTS_SQL = "SELECT host_id, host_name, person FROM mimolo.hosts ORDER BY host_name, host_id"
NEWEST_DAY_SQL = "SELECT max(day) FROM mimolo.host_days"

CLIENTS_SQL = f"""
SELECT client FROM (
    SELECT {_CLIENT} AS client
    FROM mimolo.records r
    WHERE r.received_at >= %(lo)s AND r.received_at < %(hi)s
) c
WHERE client IS NOT NULL
GROUP BY client
ORDER BY client
"""  # noqa: S608

CHAINS_SQL = """
SELECT h.host_id, h.host_name, h.person,
       coalesce(s.records, 0), s.last_seq,
       coalesce((SELECT array_agg(
                    coalesce('seq ' || b.seq || ': ', '') || b.kind || ': ' || b.detail
                    ORDER BY b.seq NULLS FIRST, b.break_id)
                 FROM mimolo.chain_breaks b WHERE b.host_id = h.host_id), '{}')
       || coalesce((SELECT array_agg('checkpoint of ' || c.day || ' at seq ' || c.seq
                                     || ': the signature does not verify' ORDER BY c.seq)
                    FROM mimolo.checkpoints c
                    WHERE c.host_id = h.host_id AND NOT c.signature_ok), '{}')
FROM mimolo.hosts h LEFT JOIN mimolo.sync_state s ON s.host_id = h.host_id
WHERE (%(host_id)s::text IS NULL OR h.host_id = %(host_id)s)
  AND (%(person)s::text IS NULL OR h.person = %(person)s)
ORDER BY h.host_name, h.host_id
"""


def ledger_days(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """``received_at`` bounds matching the local reader's files: one day either side."""
    first = start.astimezone(UTC).date() - timedelta(days=1)
    last = end.astimezone(UTC).date() + timedelta(days=2)
    return (
        datetime.combine(first, datetime.min.time(), UTC),
        datetime.combine(last, datetime.min.time(), UTC),
    )


def _params(start: datetime, end: datetime, filt: TeamFilter, **extra: Any) -> dict[str, Any]:
    lo, hi = ledger_days(start, end)
    return {
        "lo": lo, "hi": hi, "lo_day": lo.date(), "hi_day": hi.date(), "host_id": filt.host_id,
        "person": filt.person, "client_id": filt.client_id, **extra,
    }  # fmt: skip


def _host(row: tuple[Any, ...]) -> TeamHost:
    return TeamHost(host_id=row[0], host_name=row[1], person=row[2])


def stale_bounds(keys: list[Key]) -> tuple[datetime, datetime]:
    """``received_at`` bounds of the host-days to fetch (midnight of the first, after the
    last): PostgreSQL prunes the month partitions outside them."""
    first = min(day for _, day in keys)
    last = max(day for _, day in keys) + timedelta(days=1)
    return (
        datetime.combine(first, datetime.min.time(), UTC),
        datetime.combine(last, datetime.min.time(), UTC),
    )


def overlapping(days: list[HostDay], start: datetime, end: datetime) -> list[TimelineSummary]:
    """The days' summaries touching ``[start, end]`` (as the local reader keeps them)."""
    lo, hi = to_epoch(start), to_epoch(end)
    out: list[TimelineSummary] = []
    for day in days:
        out.extend(s for s in day.summaries if s.end >= lo and s.start <= hi)
    return out


class TeamReader:
    """Read-only queries on one connection (reconnected after a failure), one at a time."""

    def __init__(
        self,
        conninfo: str,
        *,
        opener: Callable[[str], Conn] | None = None,
        cache: HostDayCache | None = None,
    ) -> None:
        self.conninfo = conninfo
        self.cache = cache or HostDayCache()
        self._open = opener or _open_read_only
        self._conn: Conn | None = None
        self._lock = threading.Lock()

    def _rows(
        self, sql: str, params: dict[str, Any] | None = None, *, binary: bool = False
    ) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                if self._conn is None or self._conn.closed:
                    self._conn = self._open(self.conninfo)
                with self._conn.cursor(binary=binary) as cur:
                    return cur.execute(sql.encode(), params).fetchall()
            except psycopg.Error as exc:
                self._drop()
                raise as_team_error(exc) from exc

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except psycopg.Error as exc:  # closing a broken connection: nothing to keep
                log.debug("closing the team store connection: %s", exc)

    def close(self) -> None:
        with self._lock:
            self._drop()

    def hosts(self) -> list[TeamHost]:
        return [_host(row) for row in self._rows(HOSTS_SQL)]

    def newest_day(self) -> date | None:
        """The newest UTC day any host has records on (None for an empty store)."""
        rows = self._rows(NEWEST_DAY_SQL)
        day = rows[0][0] if rows else None
        return day if isinstance(day, date) else None

    def clients(self, start: datetime, end: datetime) -> list[str]:
        """The client ids the hosts' summaries name in ``[start, end)``."""
        return [row[0] for row in self._rows(CLIENTS_SQL, {"lo": start, "hi": end})]

    def summaries(
        self, start: datetime, end: datetime, filt: TeamFilter = EVERY
    ) -> list[HostSummaries]:
        """Every selected host's summaries of ``[start, end]`` (a client filter is the
        caller's: cached host-days hold all of a host's records)."""
        whole = msgspec.structs.replace(filt, client_id=None)
        prints = self._rows(FINGERPRINT_SQL, _params(start, end, whole))
        hosts: dict[str, TeamHost] = {}
        days: dict[Key, HostDay | None] = {}
        for host_id, name, person, day, count, max_seq in prints:
            hosts.setdefault(host_id, TeamHost(host_id=host_id, host_name=name, person=person))
            days[(host_id, day)] = self.cache.get((host_id, day), Fingerprint(count, max_seq))
        stale = sorted(key for key, hit in days.items() if hit is None)
        if stale:
            first, last = stale_bounds(stale)
            params = {
                "lo": first, "hi": last, "hosts": [h for h, _ in stale],
                "days": [d for _, d in stale],
            }  # fmt: skip
            labels = {h.host_id: h.label for h in hosts.values()}
            fetched = host_days(self._rows(DAYS_SQL, params, binary=True), labels)
            for key, entry in fetched.items():
                self.cache.put(key, entry)
                days[key] = entry
        per_host: dict[str, list[HostDay]] = {h: [] for h in hosts}
        for (host_id, _), held in sorted(days.items()):
            if held is not None:
                per_host[host_id].append(held)
        return [
            HostSummaries(
                host=host,
                summaries=overlapping(per_host[host.host_id], start, end),
                warnings=[w for d in per_host[host.host_id] for w in d.warnings],
            )
            for host in sorted(hosts.values(), key=lambda h: (h.host_name, h.host_id))
        ]

    def raw_rows(
        self,
        start: datetime,
        end: datetime,
        filt: TeamFilter = EVERY,
        *,
        instance_id: str | None = None,
        active_only: bool = False,
        limit: int = 100_000,
    ) -> list[RawRow]:
        """Stored lines received in the range's ledger days (the caller filters windows)."""
        params = _params(
            start, end, filt, instance_id=instance_id, active_only=active_only, limit=limit
        )
        return [
            RawRow(host=_host(row), seq=row[3], line=row[4]) for row in self._rows(RAW_SQL, params)
        ]

    def chains(self, filt: TeamFilter = EVERY) -> list[HostChainRow]:
        """Each selected host's chain as verified on arrival."""
        params = {"host_id": filt.host_id, "person": filt.person}
        return [
            HostChainRow(host=_host(row), records=row[3], last_seq=row[4], breaks=list(row[5]))
            for row in self._rows(CHAINS_SQL, params)
        ]


def _open_read_only(conninfo: str) -> Conn:
    """libpq's connection, every transaction read-only (on top of the reader role)."""
    conn = connect(conninfo, autocommit=True)
    conn.execute("SET default_transaction_read_only = on")
    conn.execute("SET jit = off")  # compiling costs more than these scans save
    return conn


__all__ = [
    "EVERY",
    "HostChainRow",
    "HostSummaries",
    "RawRow",
    "TeamFilter",
    "TeamHost",
    "TeamReader",
    "ledger_days",
    "overlapping",
]
