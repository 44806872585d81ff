"""Where the Timeline, Evidence and Reports views get their records: one small interface.

``LocalSource`` reads this machine's ledger files (the ordinary Control); the team source
(``control.team_source``) reads the team store in PostgreSQL. The views call only these
methods, so the same pages, the same derivation and the same report pipeline serve both.
A source never writes.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import date, datetime
from typing import Protocol
from urllib.parse import urlencode

import msgspec

from mimolo.control.chain_status import DayChain, day_chain
from mimolo.control.evidence_reader import DEFAULT_LIMIT, EvidencePage, read_raw_evidence
from mimolo.control.timeline_source import TimelineResult, load_policy, load_timeline
from mimolo.dataroot import DataRoot
from mimolo.slugs import is_slug
from mimolo.timeline.models import TimelinePolicy

log = logging.getLogger(__name__)

FILTER_MAX = 200
"""Longest host or person name a filter accepts."""


class ViewFilters(msgspec.Struct, frozen=True, kw_only=True):
    """Which hosts, people and client a view shows (``None``: all)."""

    host: str | None = None
    person: str | None = None
    client: str | None = None

    @property
    def any(self) -> bool:
        return bool(self.host or self.person or self.client)

    @property
    def query(self) -> str:
        """``&host=…&person=…&client=…`` for the links that keep these filters."""
        pairs = [("host", self.host), ("person", self.person), ("client", self.client)]
        kept = [(k, v) for k, v in pairs if v]
        return "&" + urlencode(kept) if kept else ""


ALL = ViewFilters()


def _name(value: str | None) -> str | None:
    """A host or person name from a query string: printable, bounded, else no filter."""
    text = (value or "").strip()
    if not text or len(text) > FILTER_MAX or not text.isprintable():
        return None
    return text


def parse_filters(query: dict[str, str] | object) -> ViewFilters:
    """``host=``, ``person=``, ``client=`` of a query (malformed values mean no filter)."""
    get = getattr(query, "get", None)
    if get is None:
        return ALL
    client = (get("client") or "").strip()
    return ViewFilters(
        host=_name(get("host")),
        person=_name(get("person")),
        client=client if is_slug(client) else None,
    )


class Choice(msgspec.Struct, frozen=True):
    """One option of a filter: the value sent, the text shown."""

    value: str
    label: str


class FilterChoices(msgspec.Struct, frozen=True, kw_only=True):
    """The values a filter form offers."""

    hosts: list[Choice] = []
    people: list[str] = []
    clients: list[str] = []


class HostChain(msgspec.Struct, frozen=True, kw_only=True):
    """One host's chain as the team store's collector saw it on arrival."""

    host: str
    person: str = ""
    records: int = 0
    last_seq: int | None = None
    breaks: list[str] = []

    @property
    def status(self) -> str:
        return "broken" if self.breaks else "verified"


def newest_evidence_day(root: DataRoot) -> date | None:
    """The newest day with a ledger file (from the file names: nothing is read)."""
    days: list[date] = []
    for path in root.evidence_dir.glob("[0-9][0-9][0-9][0-9]/*.evidence.jsonl"):
        with contextlib.suppress(ValueError):
            days.append(datetime.strptime(path.name[:8], "%Y%m%d").date())
    return max(days, default=None)


class EvidenceSource(Protocol):
    """What the Timeline, Evidence and Reports views read through."""

    @property
    def team(self) -> bool:
        """True for the read-only team view (nothing that needs Operations is offered)."""
        ...

    @property
    def label(self) -> str:
        """Where the records come from, for the page footer (never a password)."""
        ...

    def load_policy(self) -> tuple[TimelinePolicy, list[str]]: ...

    def load_timeline(
        self,
        start: datetime,
        end: datetime,
        *,
        group_by_client: bool = True,
        client_id: str | None = None,
        filters: ViewFilters = ALL,
    ) -> TimelineResult: ...

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
    ) -> EvidencePage: ...

    def choices(self) -> FilterChoices: ...

    def newest_day(self) -> date | None:
        """The newest UTC day with records (None when there are none)."""
        ...

    def day_chain(self, day: date) -> DayChain | None:
        """The local chain status of a day (``None`` for a team source)."""
        ...

    def host_chains(self, filters: ViewFilters = ALL) -> list[HostChain]:
        """Each host's chain as flagged by the collector (empty for the local source)."""
        ...

    def close(self) -> None:
        """Release connections (Control's shutdown)."""
        ...


class LocalSource:
    """This machine's ledger files, read directly (Operations need not run)."""

    team = False

    def __init__(self, root: DataRoot) -> None:
        self.root = root

    @property
    def label(self) -> str:
        return str(self.root.root)

    def load_policy(self) -> tuple[TimelinePolicy, list[str]]:
        return load_policy(self.root)

    def load_timeline(
        self,
        start: datetime,
        end: datetime,
        *,
        group_by_client: bool = True,
        client_id: str | None = None,
        filters: ViewFilters = ALL,
    ) -> TimelineResult:
        return load_timeline(
            self.root, start, end, group_by_client=group_by_client,
            client_id=client_id or filters.client,
        )  # fmt: skip

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
        return read_raw_evidence(
            self.root,
            start,
            end,
            active_only=active_only,
            instance_id=instance_id,
            limit=limit,
            offset=offset,
        )

    def choices(self) -> FilterChoices:
        return FilterChoices()

    def newest_day(self) -> date | None:
        return newest_evidence_day(self.root)

    def day_chain(self, day: date) -> DayChain | None:
        return day_chain(self.root, day)

    def host_chains(self, filters: ViewFilters = ALL) -> list[HostChain]:
        return []

    def close(self) -> None:
        return None


__all__ = [
    "ALL",
    "Choice",
    "EvidenceSource",
    "FilterChoices",
    "HostChain",
    "LocalSource",
    "ViewFilters",
    "newest_evidence_day",
    "parse_filters",
]
