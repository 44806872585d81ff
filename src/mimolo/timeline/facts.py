"""The facts rules match on beyond ids and mode: application, window title, paths.

Read only when some rule needs them (``CompiledRules.needs_facts``), with views of their
own so the timeline's hot path never decodes ``data.applications`` or ``path_samples``.
A desktop_activity summary's application is its dominant one (the most seconds) and its
title that application's top title; a folder agent's paths are its ``path_samples``
(``path`` and a rename's ``from``). Facts are keyed by ledger ``seq`` and kept per file
identity in memory, so a changed file is read again and a closed day only once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import msgspec

from mimolo.dataroot import DataRoot
from mimolo.protocol.evidence import SummaryDataView, SummaryView
from mimolo.timeline.identity import FileIdentity, file_identity
from mimolo.timeline.models import TimelineSummary
from mimolo.timeline.reader import LineView, ReadWarning, evidence_days, read_file


class Facts(msgspec.Struct, frozen=True, gc=False):
    """What one summary says about what was in front of the user."""

    application: str | None = None
    executable: str | None = None
    title: str | None = None
    paths: tuple[str, ...] = ()


class _Title(msgspec.Struct, frozen=True, gc=False):
    title: str = ""
    seconds: float = 0.0


class _App(msgspec.Struct, frozen=True, gc=False):
    application: str = ""
    executable: str | None = None
    seconds: float = 0.0
    titles: list[_Title] = []


class _Path(msgspec.Struct, frozen=True, gc=False):
    path: str = ""
    from_: str | None = msgspec.field(default=None, name="from")


class _Data(msgspec.Struct, frozen=True, gc=False):
    applications: list[_App] = []
    path_samples: list[_Path] = []


class _Summary(msgspec.Struct, frozen=True, gc=False):
    type: str = ""
    data: _Data = _Data()


class _Line(msgspec.Struct, frozen=True, gc=False):
    seq: int
    record: _Summary


class _FactData(SummaryDataView, frozen=True, gc=False):
    applications: list[_App] = []
    path_samples: list[_Path] = []


class _FactRecord(SummaryView, frozen=True, gc=False):
    data: _FactData = _FactData()


class _FactLine(LineView, frozen=True, gc=False, kw_only=True):
    """What the timeline reader decodes plus the facts: one pass reads both."""

    record: _FactRecord


_decoder = msgspec.json.Decoder(_Line)
_line_decoder = msgspec.json.Decoder(_FactLine)
_NEEDLES = (b'"applications"', b'"path_samples"')


def facts_of(data: _Data | _FactData) -> Facts | None:
    """The facts of one summary's data, or ``None`` when it reports none."""
    application = executable = title = None
    if data.applications:
        top = max(data.applications, key=lambda a: (a.seconds, a.application))
        application, executable = top.application or None, top.executable
        if top.titles:
            title = max(top.titles, key=lambda t: (t.seconds, t.title)).title or None
    paths: list[str] = []
    for sample in data.path_samples:
        if sample.path:
            paths.append(sample.path)
        if sample.from_:
            paths.append(sample.from_)
    if application is None and not paths:
        return None
    return Facts(application, executable, title, tuple(paths))


def _fact_lines(data: bytes) -> list[bytes]:
    """The lines that mention a needle, in file order, found with ``bytes.find`` (a few
    hundred in a day of thousands: the rest are never split out or looked at)."""
    starts: set[int] = set()
    for needle in _NEEDLES:
        at = data.find(needle)
        while at >= 0:
            first = data.rfind(b"\n", 0, at) + 1
            starts.add(first)
            stop = data.find(b"\n", at)
            if stop < 0:
                break
            at = data.find(needle, stop)
    out: list[bytes] = []
    for first in sorted(starts):
        stop = data.find(b"\n", first)
        out.append(data[first:] if stop < 0 else data[first:stop])
    return out


def parse_facts(data: bytes) -> dict[int, Facts]:
    """Facts by seq of the summaries in ledger bytes; lines that fail to decode are left
    to the timeline reader to report."""
    out: dict[int, Facts] = {}
    decode = _decoder.decode
    for line in _fact_lines(data):
        try:
            view = decode(line)
        except (msgspec.DecodeError, ValueError):
            continue
        if view.record.type != "summary":
            continue
        facts = facts_of(view.record.data)
        if facts is not None:
            out[view.seq] = facts
    return out


class FactsCache:
    """Facts per ledger file, keyed on its identity; bounded LRU, thread-safe."""

    def __init__(self, max_files: int = 400) -> None:
        self.max_files = max_files
        self._entries: OrderedDict[str, tuple[FileIdentity, dict[int, Facts]]] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, identity: FileIdentity, facts: dict[int, Facts]) -> None:
        """Keep facts read elsewhere (in the pass that decoded the file's evidence)."""
        with self._lock:
            self._entries[identity.path] = (identity, facts)
            self._entries.move_to_end(identity.path)
            while len(self._entries) > self.max_files:
                self._entries.popitem(last=False)

    def read(self, path: Path) -> dict[int, Facts]:
        """The file's facts, read again only when its identity changed."""
        identity = file_identity(path)
        if identity is None:
            return {}
        path_text = str(path)
        with self._lock:
            entry = self._entries.get(path_text)
            if entry is not None and entry[0] == identity:
                self._entries.move_to_end(path_text)
                return entry[1]
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return {}
        facts = parse_facts(data)
        if file_identity(path) == identity:
            self.remember(identity, facts)
        return facts


DEFAULT_FACTS = FactsCache()


def read_with_facts(
    path: Path,
) -> tuple[list[TimelineSummary], list[ReadWarning], dict[int, Facts]]:
    """``read_file`` and ``parse_facts`` of one ledger file in one pass over its lines."""
    facts: dict[int, Facts] = {}

    def take(view: LineView) -> None:
        data = cast(_FactLine, view).record.data
        if data.applications or data.path_samples:
            got = facts_of(data)
            if got is not None:
                facts[view.seq] = got

    summaries, warnings = read_file(path, decoder=_line_decoder, take=take)
    return summaries, warnings, facts


def read_evidence_and_facts(
    root: DataRoot, start: datetime, end: datetime
) -> tuple[list[TimelineSummary], list[ReadWarning], dict[int, Facts]]:
    """Every summary of the ledger days around ``[start, end]`` (unfiltered: derivation
    clips to the window), their warnings and their facts, each file read once."""
    summaries: list[TimelineSummary] = []
    warnings: list[ReadWarning] = []
    facts: dict[int, Facts] = {}
    for day in evidence_days(start.astimezone(UTC), end.astimezone(UTC)):
        got, warned, found = read_with_facts(root.evidence_file(day))
        summaries.extend(got)
        warnings.extend(warned)
        facts.update(found)
    return summaries, warnings, facts


def read_facts(
    root: DataRoot, start: datetime, end: datetime, *, cache: FactsCache | None = DEFAULT_FACTS
) -> dict[int, Facts]:
    """Facts by seq of every summary in the ledger days around ``[start, end]``."""
    out: dict[int, Facts] = {}
    for day in evidence_days(start, end):
        path = root.evidence_file(day)
        if cache is not None:
            out.update(cache.read(path))
            continue
        try:
            out.update(parse_facts(path.read_bytes()))
        except FileNotFoundError:
            continue
    return out


__all__ = [
    "DEFAULT_FACTS",
    "Facts",
    "FactsCache",
    "facts_of",
    "parse_facts",
    "read_evidence_and_facts",
    "read_facts",
    "read_with_facts",
]
