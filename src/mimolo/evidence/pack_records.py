"""Which ledger records each derived segment comes from (for evidence packs).

``derive_timeline`` returns segments without the records behind them (it is the hot path
and stays lean); a pack needs them. This module reads the same ledger days the timeline
read and applies the same rules as ``mimolo.timeline.derive`` to name, per segment, the
activity records that make it (``seqs``) and the other records counted in it
(``attached_seqs``). ``summary_count`` must come out the same, which the builder checks.
"""

from __future__ import annotations

import bisect
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import msgspec

from mimolo.dataroot import DataRoot
from mimolo.errors import EvidencePackError
from mimolo.evidence import verify as chain_verify
from mimolo.protocol import chain
from mimolo.protocol.evidence import EvidenceView, view_decoder
from mimolo.timeline.models import Segment, TimelinePolicy, to_epoch
from mimolo.timeline.reader import evidence_days

_decoder = view_decoder()


@dataclass(frozen=True, slots=True)
class LedgerLine:
    """One complete line of a day file, with what the pack needs to know about it."""

    raw: bytes  # without the newline
    link: chain.Link | None
    seq: int | None
    start: float | None = None
    end: float | None = None
    instance_id: str = ""
    client_id: str | None = None
    active: bool = False
    artifacts: tuple[dict[str, object], ...] = ()


@dataclass
class DayLines:
    day_file: Path
    lines: list[LedgerLine] = field(default_factory=list)


def _epoch(value: datetime) -> float:
    return to_epoch(value)


def parse_line(raw: bytes, policy: TimelinePolicy) -> LedgerLine:
    """A ledger line as the pack sees it (an unusable line keeps only its link and seq)."""
    link = chain.parse_link(raw)
    seq = link.seq if link is not None else chain.parse_seq(raw)
    try:
        view: EvidenceView = _decoder.decode(chain.body_of(raw))
    except (msgspec.DecodeError, ValueError):
        return LedgerLine(raw, link, seq)
    rec = view.record
    if rec.type != "summary":
        return LedgerLine(raw, link, seq)
    window = rec.data.window
    start, end = (
        (_epoch(rec.timestamp), _epoch(rec.timestamp))
        if window is None
        else (_epoch(window.start), _epoch(window.end))
    )
    if end < start:
        return LedgerLine(raw, link, seq)
    signal = rec.data.activity_signal
    keep = signal is not None and signal.keep_alive is True
    active_set = policy.active_instances
    active = keep and (
        (signal is not None and signal.mode == "active")
        if active_set is None
        else view.instance_id in active_set
    )
    client = rec.data.client_id or policy.client_of_instance.get(view.instance_id)
    return LedgerLine(
        raw, link, view.seq, start, end, view.instance_id, client, active, _artifacts(raw)
    )


def _artifacts(raw: bytes) -> tuple[dict[str, object], ...]:
    """The ``data.artifacts`` references of a record (only when it names any)."""
    if b'"artifacts"' not in raw:
        return ()
    try:
        doc = msgspec.json.decode(chain.body_of(raw))
        refs = doc["record"]["data"]["artifacts"]
    except (msgspec.DecodeError, KeyError, TypeError):
        return ()
    return tuple(r for r in refs if isinstance(r, dict)) if isinstance(refs, list) else ()


def read_days(
    evidence_file: Callable[[date], Path], start: datetime, end: datetime, policy: TimelinePolicy
) -> dict[date, DayLines]:
    """The complete lines of every ledger day the timeline reads for ``[start, end]``."""
    out: dict[date, DayLines] = {}
    for day in evidence_days(start, end):
        path = evidence_file(day)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            continue
        cut = data.rfind(b"\n") + 1  # a line still being written is not evidence yet
        lines = [parse_line(raw, policy) for raw in data[:cut].split(b"\n")[:-1]]
        out[day] = DayLines(path, lines)
    return out


def segment_records(
    segments: list[Segment],
    days: dict[date, DayLines],
    policy: TimelinePolicy,
    window: tuple[datetime, datetime],
    client_id: str | None,
) -> list[tuple[list[int], list[int]]]:
    """Per segment: (activity record seqs, attached record seqs), as derivation used them."""
    lo, hi = to_epoch(window[0]), to_epoch(window[1])
    spans: list[tuple[float, float, LedgerLine]] = []
    for day in days.values():
        for line in day.lines:
            if line.start is None or line.end is None or line.seq is None:
                continue
            if line.end < lo or line.start > hi:
                continue
            if client_id is not None and line.client_id not in (None, client_id):
                continue
            spans.append((max(line.start, lo), min(line.end, hi), line))
    spans.sort(key=lambda item: item[0])
    starts = [item[0] for item in spans]
    longest = max((e - s for s, e, _ in spans), default=0.0)
    grouped = policy.group_by_client
    out: list[tuple[list[int], list[int]]] = []
    for seg in segments:
        a, b = to_epoch(seg.start), to_epoch(seg.end)
        key = seg.client_ids[0] if grouped and seg.client_ids else None
        seqs: list[int] = []
        attached: list[int] = []
        first = bisect.bisect_left(starts, a - longest)
        last = bisect.bisect_right(starts, b)
        for _, e, line in spans[first:last]:
            if e < a or line.seq is None:
                continue
            if line.active:
                if (not grouped or line.client_id == key) and line.instance_id in seg.instances:
                    seqs.append(line.seq)
            elif not (grouped and line.client_id not in (None, key)):
                attached.append(line.seq)
        out.append((sorted(seqs), sorted(attached)))
    return out


def evidence_members(
    root: DataRoot, days: dict[date, DayLines], included: set[int]
) -> tuple[dict[str, bytes], list[dict[str, Any]], int]:
    """The pack's day files and checkpoint files; the included records; redacted count."""
    members: dict[str, bytes] = {}
    records: list[dict[str, Any]] = []
    redacted = 0
    on = sorted(d for d, lines in days.items() if any(ln.seq in included for ln in lines.lines))
    if not on:
        return members, records, 0
    # checkpoints first: a checkpoint written after the day file was read would look truncated
    checkpoints = chain_verify.checkpoint_files(root.evidence_dir)
    wanted = [(d, p) for d, p in checkpoints if on[0] <= d <= on[-1]]
    for day in sorted(d for d in days if on[0] <= d <= on[-1]):
        out = io.BytesIO()
        first = True
        for line in days[day].lines:
            if line.link is None:
                if line.seq in included:
                    raise EvidencePackError(
                        f"record seq {line.seq} predates the hash chain and cannot be proven",
                        code="pack_unchained",
                    )
                continue
            if first and day == on[0]:
                wanted += _checkpoint_before(checkpoints, on[0], line.link)
            first = False
            if line.seq in included:
                out.write(line.raw + b"\n")
                records.append(msgspec.json.decode(chain.body_of(line.raw)))
            else:
                out.write(chain.redacted_line(line.link))
                redacted += 1
        members[f"evidence/{day:%Y}/{day:%Y%m%d}.evidence.jsonl"] = out.getvalue()
    for day, path in wanted:
        members[f"evidence/{day:%Y}/{path.name}"] = path.read_bytes()
    return members, records, redacted


def _checkpoint_before(
    checkpoints: list[tuple[date, Path]], first_day: date, link: chain.Link
) -> list[tuple[date, Path]]:
    """The checkpoint file (before ``first_day``) that signs the record the pack's first
    line follows, so that line's ``prev`` is tied to a signature."""
    if link.prev == chain.ZERO_HASH and link.seq == 1:
        return []
    for day, path in reversed([c for c in checkpoints if c[0] < first_day]):
        try:
            entries = chain_verify.read_checkpoints(path)
        except (OSError, ValueError):
            continue
        if any(e.get("seq") == link.seq - 1 for e in entries):
            return [(day, path)]
    return []


__all__ = [
    "DayLines",
    "LedgerLine",
    "evidence_members",
    "parse_line",
    "read_days",
    "segment_records",
]
