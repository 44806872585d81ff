"""The team view's evidence source: the team store in PostgreSQL, read-only.

The Timeline, Evidence and Reports views read through ``EvidenceSource``; this one asks
``mimolo.team.reader`` (the reader role, a read-only session) and derives each host's
summaries with the same pure functions as this machine's own ledger, then unites them.
The policy is the default one: the machines' configs do not travel, so an instance's
client comes from its summaries' ``client_id``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import msgspec
import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from mimolo.control.chain_status import DayChain
from mimolo.control.evidence_reader import (
    DEFAULT_LIMIT,
    EvidencePage,
    EvidenceWarning,
    PageOf,
    RawRecord,
    parse_line,
)
from mimolo.control.evidence_source import ALL, Choice, FilterChoices, HostChain, ViewFilters
from mimolo.control.timeline_source import MAX_WARNINGS, TimelineResult
from mimolo.team.reader import TeamFilter, TeamReader
from mimolo.team.timeline import team_timeline
from mimolo.timeline.models import TimelinePolicy

log = logging.getLogger(__name__)

CHOICES_TTL_S = 60.0
CLIENT_DAYS = 90
"""Clients offered in the filter: those named in the last 90 days."""

_SHOWN_KEYS = ("service", "host", "port", "dbname", "user", "sslmode")


def describe(conninfo: str) -> str:
    """The conninfo as the footer shows it: where, which database, who (never a password)."""
    try:
        params = conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError:
        return "(unparsable conninfo)"
    shown = {k: str(v) for k, v in params.items() if k in _SHOWN_KEYS and v is not None}
    return make_conninfo(**shown) if shown else "(libpq defaults: PG* variables)"


def _overlaps(record: RawRecord, start: datetime, end: datetime) -> bool:
    """The Evidence view's window rule (torn lines are always shown)."""
    when = record.window_end or record.received_at
    begin = record.window_start or when
    if record.torn or when is None or begin is None:
        return True
    return begin < end and when >= start


class TeamSource:
    """The team store behind the Timeline, Evidence and Reports views."""

    team = True

    def __init__(
        self,
        reader: TeamReader,
        *,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.reader = reader
        self._clock = clock
        self._now = now
        self._choices: tuple[float, FilterChoices] | None = None
        self._lock = threading.Lock()

    @classmethod
    def connect(cls, conninfo: str) -> TeamSource:
        return cls(TeamReader(conninfo))

    @property
    def label(self) -> str:
        return describe(self.reader.conninfo)

    def _filter(self, filters: ViewFilters, client: str | None = None) -> TeamFilter:
        return TeamFilter(host_id=filters.host, person=filters.person, client_id=client)

    def load_policy(self) -> tuple[TimelinePolicy, list[str]]:
        return TimelinePolicy(), []

    def load_timeline(
        self,
        start: datetime,
        end: datetime,
        *,
        group_by_client: bool = True,
        client_id: str | None = None,
        filters: ViewFilters = ALL,
    ) -> TimelineResult:
        policy = TimelinePolicy(group_by_client=group_by_client)
        hosts = self.reader.summaries(start, end, self._filter(filters))
        client = client_id or filters.client
        timeline = team_timeline(hosts, start, end, policy, client_id=client)
        warnings = [str(w) for h in hosts for w in h.warnings[:MAX_WARNINGS]]
        return TimelineResult(timeline=timeline, warnings=warnings[:MAX_WARNINGS], policy=policy)

    def read_evidence(
        self,
        start: datetime,
        end: datetime,
        *,
        active_only: bool = False,
        instance_id: str | None = None,
        filters: ViewFilters = ALL,
        limit: int = DEFAULT_LIMIT,
        offset: int = 0,
    ) -> EvidencePage:
        rows = self.reader.raw_rows(
            start, end, self._filter(filters, filters.client),
            instance_id=instance_id, active_only=active_only,
        )  # fmt: skip
        paged = PageOf(limit, offset)
        warnings: list[EvidenceWarning] = []
        files: dict[str, None] = {}
        for row in rows:
            label = row.host.label
            files.setdefault(label)
            record = parse_line(row.line.encode("utf-8"), label, row.seq)
            record = msgspec.structs.replace(record, host=label)
            if not _overlaps(record, start, end):
                continue
            if record.torn:
                warnings.append(
                    EvidenceWarning(
                        kind="torn_line", file=label, line_no=row.seq,
                        message="the stored line is not a complete ledger record",
                    )
                )  # fmt: skip
            paged.add(record)
        return paged.page(warnings, list(files))

    def choices(self) -> FilterChoices:
        """Hosts, people and recent clients (kept for a minute: they change rarely)."""
        with self._lock:
            cached = self._choices
            if cached is not None and self._clock() - cached[0] < CHOICES_TTL_S:
                return cached[1]
        hosts = self.reader.hosts()
        # counted back from the store's newest day, not from today: a team that paused
        # for months (or a store of old records) still offers the clients it worked for
        today = self.reader.newest_day() or self._now().astimezone(UTC).date()
        lo = datetime.combine(today - timedelta(days=CLIENT_DAYS), datetime.min.time(), UTC)
        hi = datetime.combine(today + timedelta(days=1), datetime.min.time(), UTC)
        made = FilterChoices(
            hosts=[Choice(h.host_id, h.label) for h in hosts],
            people=sorted({h.person for h in hosts if h.person}),
            clients=self.reader.clients(lo, hi),
        )
        with self._lock:
            self._choices = (self._clock(), made)
        return made

    def newest_day(self) -> date | None:
        return self.reader.newest_day()

    def day_chain(self, day: date) -> DayChain | None:
        return None

    def host_chains(self, filters: ViewFilters = ALL) -> list[HostChain]:
        return [
            HostChain(
                host=row.host.label, person=row.host.person, records=row.records,
                last_seq=row.last_seq, breaks=row.breaks,
            )
            for row in self.reader.chains(self._filter(filters))
        ]  # fmt: skip

    def close(self) -> None:
        self.reader.close()


__all__ = ["CHOICES_TTL_S", "TeamSource", "describe"]
