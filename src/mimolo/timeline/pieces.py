"""Pieces of reviewed time and the sorted, mutable list the adjustments work on (internal).

A piece is a span with a category, a source and its provenance. Cutting one keeps the
ledger records that overlap the cut part, so every piece still names its evidence.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from operator import attrgetter
from typing import Protocol

from mimolo.timeline.reviewed import Removal, SegmentSource

Span = tuple[float, float]


class Member(Protocol):
    """What a piece reads of a ledger record it holds (a ``TimelineSummary`` is one)."""

    @property
    def instance_id(self) -> str: ...
    @property
    def start(self) -> float: ...
    @property
    def end(self) -> float: ...
    @property
    def seq(self) -> int: ...


_instance = attrgetter("instance_id")
_seq = attrgetter("seq")


class Piece:
    """One span of time in the review (mutable while adjustments apply)."""

    __slots__ = (
        "adjustment_ids",
        "client",
        "end",
        "locked_by",
        "members",
        "project",
        "prov",
        "removed",
        "rule_ids",
        "source",
        "start",
        "tags",
        "view",
    )

    def __init__(
        self,
        start: float,
        end: float,
        client: str | None,
        project: str | None,
        tags: tuple[str, ...],
        source: SegmentSource,
        *,
        rule_ids: tuple[str, ...] = (),
        adjustment_ids: tuple[str, ...] = (),
        members: Sequence[Member] = (),
        removed: Removal = "",
        locked_by: str | None = None,
    ) -> None:
        self.start = start
        self.end = end
        self.client = client
        self.project = project
        self.tags = tags
        self.source: SegmentSource = source
        self.rule_ids = rule_ids
        self.adjustment_ids = adjustment_ids
        self.members = members
        self.removed: Removal = removed
        self.locked_by = locked_by
        self.prov: tuple[list[str], list[int]] | None = None
        self.view: object = None  # the finished segment, kept by pieces a cache shares

    def provenance(self) -> tuple[list[str], list[int]]:
        """The members' instances and ledger seqs, sorted (computed once per members)."""
        if self.prov is None:
            members = self.members
            self.prov = (sorted(set(map(_instance, members))), sorted(map(_seq, members)))
        return self.prov

    @property
    def key(self) -> tuple[str | None, str | None, tuple[str, ...]]:
        return (self.client, self.project, self.tags)

    @property
    def counted(self) -> bool:
        return not self.removed

    def cut(self, a: float, b: float) -> Piece:
        """A copy over ``[a, b]`` (within this piece) with the records that overlap it."""
        whole = a <= self.start and b >= self.end
        if whole:
            members = self.members
        else:
            members = [m for m in self.members if m.end >= a and m.start <= b]
            if not members and self.members:
                members = _nearest(self.members, a, b)
        piece = Piece(
            max(a, self.start),
            min(b, self.end),
            self.client,
            self.project,
            self.tags,
            self.source,
            rule_ids=self.rule_ids,
            adjustment_ids=self.adjustment_ids,
            members=members,
            removed=self.removed,
            locked_by=self.locked_by,
        )
        if whole:
            piece.prov = self.prov
        return piece

    def with_adjustment(self, adjustment_id: str) -> tuple[str, ...]:
        if adjustment_id in self.adjustment_ids:
            return self.adjustment_ids
        return (*self.adjustment_ids, adjustment_id)


def _nearest(members: Sequence[Member], a: float, b: float) -> list[Member]:
    """The records either side of a cut that falls between them (the cooldown joined them)."""
    before = [m for m in members if m.end < a]
    after = [m for m in members if m.start > b]
    out: list[Member] = []
    if before:
        out.append(max(before, key=lambda m: (m.end, m.seq)))
    if after:
        out.append(min(after, key=lambda m: (m.start, m.seq)))
    return out


def subtract(span: Span, holes: Iterable[Span]) -> tuple[list[Span], list[Span]]:
    """``span`` split into the parts outside ``holes`` and the parts inside them."""
    a, b = span
    inside: list[Span] = []
    for x, y in sorted(holes):
        x, y = max(x, a), min(y, b)
        if x >= y:
            continue
        if inside and x <= inside[-1][1]:
            inside[-1] = (inside[-1][0], max(inside[-1][1], y))
        else:
            inside.append((x, y))
    free: list[Span] = []
    cursor = a
    for x, y in inside:
        if x > cursor:
            free.append((cursor, x))
        cursor = max(cursor, y)
    if cursor < b:
        free.append((cursor, b))
    return free, inside


def union(spans: Iterable[Span]) -> list[Span]:
    """Sorted, disjoint cover of ``spans`` (touching spans join)."""
    out: list[Span] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


class PieceList:
    """Pieces sorted by start with a parallel list of starts, for overlap queries."""

    def __init__(self, pieces: Sequence[Piece]) -> None:
        self.pieces = sorted(pieces, key=lambda p: (p.start, p.end))
        self.starts = [p.start for p in self.pieces]
        self.max_len = max((p.end - p.start for p in self.pieces), default=0.0)

    def overlapping(self, a: float, b: float) -> list[int]:
        """Indices of pieces that overlap ``[a, b)`` (a zero-length piece: lies in it)."""
        i = bisect_left(self.starts, a - self.max_len)
        j = bisect_left(self.starts, b)
        out: list[int] = []
        for k in range(i, j):
            p = self.pieces[k]
            if p.end > a or (p.end == p.start >= a):
                out.append(k)
        return out

    def before(self, at: float) -> Piece | None:
        """The counted piece that ends last at or before ``at`` (the work before a gap)."""
        i = bisect_left(self.starts, at - self.max_len)
        j = bisect_right(self.starts, at)
        best: Piece | None = None
        for k in range(i, j):
            p = self.pieces[k]
            if (
                p.counted
                and p.end <= at
                and (best is None or (p.end, p.start) > (best.end, best.start))
            ):
                best = p
        return best

    def replace(self, indices: list[int], new: Iterable[Piece]) -> None:
        for k in sorted(indices, reverse=True):
            del self.pieces[k]
            del self.starts[k]
        for p in new:
            k = bisect_right(self.starts, p.start)
            self.starts.insert(k, p.start)
            self.pieces.insert(k, p)
            if p.end - p.start > self.max_len:
                self.max_len = p.end - p.start

    def add(self, p: Piece) -> None:
        self.replace([], [p])


__all__ = ["Member", "Piece", "PieceList", "Span", "subtract", "union"]
