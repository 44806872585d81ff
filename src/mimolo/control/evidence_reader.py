"""The evidence viewer's reader: ledger lines exactly as written, plus what is wrong with them.

Control reads the daily ledger files directly (Operations need not run). Each line is kept
untouched (``raw``) for display; it is decoded only to filter it and to check it: a line
that does not decode is reported as torn, and an artifact reference whose file is missing or
would resolve outside the instance's directory is reported too. Nothing is ever written.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import msgspec

from mimolo.dataroot import DataRoot
from mimolo.protocol.evidence import view_decoder
from mimolo.slugs import is_slug

log = logging.getLogger(__name__)

DEFAULT_LIMIT = 500
"""Records per page of the viewer: each is its whole ledger line, so a page of 500 is
about 700 kB of HTML (later pages with ``skip``)."""

WarningKind = Literal["torn_line", "missing_artifact", "unsafe_artifact_path"]


class EvidenceWarning(msgspec.Struct, frozen=True, kw_only=True):
    """Something a reader of the ledger should know about one line."""

    kind: WarningKind
    file: str
    line_no: int
    message: str


class RawRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One ledger line: the untouched text and the few decoded fields the viewer filters on."""

    file: str
    line_no: int
    raw: str
    seq: int | None = None
    received_at: datetime | None = None
    plugin_id: str = ""
    instance_id: str = ""
    instance_label: str = ""
    mode: str | None = None
    keep_alive: bool | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    client_id: str | None = None
    torn: bool = False
    host: str = ""  # the team view's host; empty for this machine's own ledger

    @property
    def active(self) -> bool:
        return self.mode == "active"


class EvidencePage(msgspec.Struct, kw_only=True):
    """What the viewer shows for one window."""

    records: list[RawRecord]
    warnings: list[EvidenceWarning]
    files: list[str]
    truncated: bool = False
    offset: int = 0
    """How many of the window's records come before the first shown (a later page)."""


class PageOf:
    """A window's records a page at a time: ``limit`` of them after the first ``offset``
    (the local ledger's and the team store's readers both page through this)."""

    def __init__(self, limit: int, offset: int) -> None:
        self.limit = limit
        self.offset = offset
        self.seen = 0
        self.records: list[RawRecord] = []
        self.truncated = False

    def add(self, record: RawRecord) -> None:
        self.seen += 1
        if self.seen <= self.offset:
            return
        if len(self.records) >= self.limit:
            self.truncated = True
            return
        self.records.append(record)

    def page(self, warnings: list[EvidenceWarning], files: list[str]) -> EvidencePage:
        return EvidencePage(
            records=self.records,
            warnings=warnings,
            files=files,
            truncated=self.truncated,
            offset=self.offset,
        )


_line_decoder = view_decoder()
_any_decoder = msgspec.json.Decoder()


def days_between(start: datetime, end: datetime) -> Iterator[date]:
    """Every UTC day touched by ``[start, end)``."""
    day = start.astimezone(UTC).date()
    last = (end - timedelta(microseconds=1)).astimezone(UTC).date()
    while day <= last:
        yield day
        day += timedelta(days=1)


def _artifact_refs(value: Any) -> Iterator[dict[str, Any]]:
    """Every ``{artifact_id, rel_path, …}`` object anywhere in a summary's data."""
    if isinstance(value, dict):
        if isinstance(value.get("artifact_id"), str) and "rel_path" in value:
            yield value
        for item in value.values():
            yield from _artifact_refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _artifact_refs(item)


def check_artifacts(
    root: DataRoot, plugin_id: str, instance_id: str, raw: bytes, file: str, line_no: int
) -> list[EvidenceWarning]:
    """Warnings for artifact references whose file is not under the instance directory."""
    if b"artifact_id" not in raw:
        return []
    try:
        decoded = _any_decoder.decode(raw)
    except msgspec.DecodeError:
        return []
    record = decoded.get("record") if isinstance(decoded, dict) else None
    data = record.get("data") if isinstance(record, dict) else None
    out: list[EvidenceWarning] = []
    for ref in _artifact_refs(data):
        rel = ref.get("rel_path")
        artifact_id = ref.get("artifact_id")
        if not (is_slug(plugin_id) and is_slug(instance_id)):
            out.append(
                EvidenceWarning(
                    kind="unsafe_artifact_path",
                    file=file,
                    line_no=line_no,
                    message=f"artifact {artifact_id!r}: the record's ids are not valid slugs",
                )
            )
            continue
        base = root.instance_dir(plugin_id, instance_id).resolve()
        target = (base / str(rel)).resolve() if isinstance(rel, str) and rel else None
        if target is None or Path(str(rel)).is_absolute() or not target.is_relative_to(base):
            out.append(
                EvidenceWarning(
                    kind="unsafe_artifact_path",
                    file=file,
                    line_no=line_no,
                    message=f"artifact {artifact_id!r}: rel_path {rel!r} leaves the instance dir",
                )
            )
        elif not target.is_file():
            out.append(
                EvidenceWarning(
                    kind="missing_artifact",
                    file=file,
                    line_no=line_no,
                    message=f"artifact {artifact_id!r}: {rel} is missing",
                )
            )
    return out


def parse_line(raw: bytes, file: str, line_no: int) -> RawRecord:
    """Decode the fields the viewer needs; an undecodable line comes back ``torn``."""
    text = raw.decode("utf-8", errors="replace")
    try:
        line = _line_decoder.decode(raw)
    except (msgspec.DecodeError, ValueError):
        return RawRecord(file=file, line_no=line_no, raw=text, torn=True)
    data = line.record.data
    signal = data.activity_signal
    window = data.window
    return RawRecord(
        file=file,
        line_no=line_no,
        raw=text,
        seq=line.seq,
        received_at=line.received_at,
        plugin_id=line.plugin_id,
        instance_id=line.instance_id,
        instance_label=line.instance_label,
        mode=signal.mode if signal else None,
        keep_alive=signal.keep_alive if signal else None,
        window_start=window.start if window else line.record.timestamp,
        window_end=window.end if window else line.record.timestamp,
        client_id=data.client_id,
    )


def _in_window(record: RawRecord, start: datetime, end: datetime) -> bool:
    when = record.window_end or record.received_at
    begin = record.window_start or when
    if when is None or begin is None:
        return True
    return begin < end and when >= start


def _keep(
    record: RawRecord, start: datetime, end: datetime, active_only: bool, instance_id: str | None
) -> bool:
    if not _in_window(record, start, end):
        return False
    if active_only and not record.active:
        return False
    return not (instance_id and record.instance_id != instance_id)


def read_raw_evidence(
    root: DataRoot,
    start: datetime,
    end: datetime,
    *,
    active_only: bool = False,
    instance_id: str | None = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
) -> EvidencePage:
    """Ledger lines whose window overlaps ``[start, end)`` (torn lines always shown), in
    file order: ``limit`` of them after the first ``offset``; the warnings of them all."""
    paged = PageOf(limit, offset)
    warnings: list[EvidenceWarning] = []
    files: list[str] = []
    # A summary received just after midnight may cover the window: read one day beyond.
    for day in days_between(start, end + timedelta(days=1)):
        path = root.evidence_file(day)
        try:
            content = path.read_bytes()
        except FileNotFoundError:
            continue
        except OSError as exc:
            log.warning("cannot read %s: %s", path, exc)
            continue
        rel = str(path.relative_to(root.root))
        files.append(rel)
        lines = content.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        for index, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            record = parse_line(raw, rel, index)
            if record.torn:
                warnings.append(
                    EvidenceWarning(
                        kind="torn_line",
                        file=rel,
                        line_no=index,
                        message="the line is not a complete ledger record",
                    )
                )
            elif not _keep(record, start, end, active_only, instance_id):
                continue
            else:
                warnings.extend(
                    check_artifacts(root, record.plugin_id, record.instance_id, raw, rel, index)
                )
            paged.add(record)
    return paged.page(warnings, files)


__all__ = [
    "DEFAULT_LIMIT",
    "EvidencePage",
    "EvidenceWarning",
    "PageOf",
    "RawRecord",
    "check_artifacts",
    "days_between",
    "parse_line",
    "read_raw_evidence",
]
