"""Adjustments on reviewed time (DESIGN §6), applied in journal order (pure).

- ``manual_entry`` claims ``[start, end)`` for its assignment: work the agents saw there
  is given to it, the rest of the range is added as ``manual`` time.
- ``assign_range`` gives the range's time to a client / project / tags (fields it leaves
  empty are kept; a new client without a project clears the project).
- ``exclude_range`` takes the range's counted time out (``removed: excluded``).
- ``idle_keep`` keeps the idle gaps in its range as ``idle_kept`` work, for its assignment
  or, without one, the work before the gap; ``idle_discard`` keeps them out (and takes
  out as idle any work or kept idle in the range); ``idle_split`` keeps up to ``split_at``
  and discards the rest.
- ``revoke`` undoes an earlier entry (a revoked revoke restores it): revoked entries are
  simply not applied, so revoking restores the previous derivation exactly.

An adjustment made after an issued invoice never acts on the invoiced client's time in
its range, nor moves time into it: the lock (DESIGN §6), applied piece by piece.
"""

from __future__ import annotations

import logging
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from datetime import datetime

import msgspec

from mimolo.protocol.review import Adjustment, Assignment
from mimolo.timeline.models import from_epoch, to_epoch
from mimolo.timeline.pieces import Piece, PieceList, Span, subtract, union

logger = logging.getLogger(__name__)

RANGE_KINDS = frozenset(
    {"manual_entry", "assign_range", "exclude_range", "idle_keep", "idle_discard", "idle_split"}
)


class Lock(msgspec.Struct, frozen=True):
    """An issued invoice's hold on a client (and project) over ``[start, end)``."""

    invoice_id: str
    client_id: str
    project: str | None
    start: float
    end: float
    created_at: datetime

    def holds(self, client: str | None, project: str | None) -> bool:
        return client == self.client_id and (self.project is None or self.project == project)


def effective(adjustments: Iterable[Adjustment]) -> list[Adjustment]:
    """The entries in effect, in seq order: not revokes, not revoked by an entry in effect."""
    ordered = sorted(adjustments, key=lambda a: a.seq)
    revoked: set[str] = set()
    for adj in reversed(ordered):
        if adj.id in revoked:
            continue
        if adj.kind == "revoke" and adj.revokes is not None:
            revoked.add(adj.revokes)
    return [a for a in ordered if a.kind != "revoke" and a.id not in revoked]


def usable(adj: Adjustment) -> bool:
    """Whether a journal entry has what its kind needs (a bad line is skipped, logged)."""
    if adj.kind not in RANGE_KINDS:
        return True
    if adj.start is None or adj.end is None or adj.end <= adj.start:
        logger.warning("adjustment %s (seq %d) has no valid range: not applied", adj.id, adj.seq)
        return False
    if adj.kind == "idle_split" and (
        adj.split_at is None or not adj.start < adj.split_at < adj.end
    ):
        logger.warning("adjustment %s (seq %d): split_at outside its range", adj.id, adj.seq)
        return False
    return True


def _given(a: Assignment) -> bool:
    return a.client_id is not None or a.project is not None or bool(a.tags)


class _Apply:
    """One pass of the journal over the pieces (state kept here, not in globals)."""

    def __init__(self, pieces: PieceList, gaps: Sequence[Span], locks: Sequence[Lock]) -> None:
        self.tl = pieces
        self.gaps = gaps  # sorted, disjoint
        self.gap_starts = [g[0] for g in gaps]
        self.locks = locks

    def _frozen(self, adj: Adjustment, client: str | None, project: str | None) -> list[Span]:
        return [
            (lk.start, lk.end)
            for lk in self.locks
            if adj.created_at > lk.created_at and lk.holds(client, project)
        ]

    def run(self, adj: Adjustment) -> None:
        assert adj.start is not None and adj.end is not None
        a, b = to_epoch(adj.start), to_epoch(adj.end)
        if adj.kind == "idle_split":
            assert adj.split_at is not None
            cut = to_epoch(adj.split_at)
            self._idle(adj, a, cut, keep=True)
            self._idle(adj, cut, b, keep=False)
        elif adj.kind in ("idle_keep", "idle_discard"):
            self._idle(adj, a, b, keep=adj.kind == "idle_keep")
        else:
            self._range(adj, a, b)

    # -- range kinds ---------------------------------------------------------------------

    def _target(self, adj: Adjustment, p: Piece) -> tuple[str | None, str | None, tuple[str, ...]]:
        """The category ``adj`` gives ``p``."""
        a = adj.assign
        if adj.kind == "manual_entry":
            return (a.client_id, a.project, tuple(a.tags))
        client = a.client_id if a.client_id is not None else p.client
        kept_project = p.project if client == p.client else None
        project = a.project if a.project is not None else kept_project
        return (client, project, tuple(a.tags) if a.tags else p.tags)

    def _changed(self, adj: Adjustment, p: Piece) -> Piece | None:
        """``p`` as ``adj`` leaves it, or ``None`` when it does not touch it."""
        if adj.kind == "exclude_range":
            if not p.counted:
                return None
            q = p.cut(p.start, p.end)
            q.removed = "excluded"
        else:
            if adj.kind == "manual_entry" and not p.counted:
                return None
            client, project, tags = self._target(adj, p)
            q = p.cut(p.start, p.end)
            q.client, q.project, q.tags = client, project, tags
        q.adjustment_ids = p.with_adjustment(adj.id)
        return q

    def _range(self, adj: Adjustment, a: float, b: float) -> None:
        idx = self.tl.overlapping(a, b)
        out: list[Piece] = []
        for k in idx:
            out.extend(self._split_and_change(adj, self.tl.pieces[k], a, b))
        if adj.kind == "manual_entry":
            target = adj.assign
            covered = [(p.start, p.end) for p in out if p.counted]
            frozen = self._frozen(adj, target.client_id, target.project)
            free, _ = subtract((a, b), [*covered, *frozen])
            for x, y in free:
                out.append(
                    Piece(
                        x,
                        y,
                        target.client_id,
                        target.project,
                        tuple(target.tags),
                        "manual",
                        adjustment_ids=(adj.id,),
                    )
                )
        self.tl.replace(idx, out)

    def _split_and_change(self, adj: Adjustment, p: Piece, a: float, b: float) -> list[Piece]:
        out: list[Piece] = []
        if p.end == p.start:
            inside: list[Span] = [(p.start, p.end)]
        else:
            if p.start < a:
                out.append(p.cut(p.start, a))
            if p.end > b:
                out.append(p.cut(b, p.end))
            inside = [(max(a, p.start), min(b, p.end))]
        probe = self._changed(adj, p)
        if probe is None:
            return [p]
        holes = self._frozen(adj, p.client, p.project)
        if probe.key != p.key:
            holes += self._frozen(adj, probe.client, probe.project)
        if holes and all(not subtract((x, y), holes)[0] for x, y in inside if x < y):
            return [p]  # wholly locked against this adjustment: left as it is, uncut
        for x, y in inside:
            if x == y:
                free, kept = ([(x, y)], []) if not _in_any(x, holes) else ([], [(x, y)])
            else:
                free, kept = subtract((x, y), holes)
            for fx, fy in free:
                changed = self._changed(adj, p.cut(fx, fy))
                assert changed is not None
                out.append(changed)
            out.extend(p.cut(kx, ky) for kx, ky in kept)
        return out

    # -- idle kinds ----------------------------------------------------------------------

    def _idle(self, adj: Adjustment, a: float, b: float, *, keep: bool) -> None:
        if a >= b:
            return
        idx = self.tl.overlapping(a, b)
        out: list[Piece] = []
        for k in idx:
            p = self.tl.pieces[k]
            if keep or p.source == "manual" or not p.counted:
                out.append(p)
                continue
            holes = self._frozen(adj, p.client, p.project)
            pieces = self._split_and_change_idle(adj, p, a, b, holes)
            out.extend(pieces)
        if keep:
            covered = [(p.start, p.end) for p in out if p.counted]
            k = max(0, bisect_left(self.gap_starts, a) - 1)
            for gx, gy in self.gaps[k : bisect_left(self.gap_starts, b)]:
                x, y = max(gx, a), min(gy, b)
                if x >= y:
                    continue
                free, _ = subtract((x, y), covered)
                for fx, fy in free:
                    out.extend(self._kept(adj, fx, fy))
        self.tl.replace(idx, out)

    def _split_and_change_idle(
        self, adj: Adjustment, p: Piece, a: float, b: float, holes: list[Span]
    ) -> list[Piece]:
        out: list[Piece] = []
        if p.start < a:
            out.append(p.cut(p.start, a))
        if p.end > b:
            out.append(p.cut(b, p.end))
        x, y = max(a, p.start), min(b, p.end)
        free, kept = subtract((x, y), holes) if x < y else ([(x, y)], [])
        out.extend(p.cut(kx, ky) for kx, ky in kept)
        for fx, fy in free:
            if p.source == "idle_kept":
                continue  # a later discard undoes a keep: the time is simply not kept
            q = p.cut(fx, fy)
            q.removed = "idle"
            q.adjustment_ids = p.with_adjustment(adj.id)
            out.append(q)
        return out

    def _kept(self, adj: Adjustment, x: float, y: float) -> list[Piece]:
        if _given(adj.assign):
            client, project, tags = adj.assign.client_id, adj.assign.project, adj.assign.tags
        else:
            before = self.tl.before(x)
            client, project, tags = before.key if before is not None else (None, None, ())
        free, _ = subtract((x, y), self._frozen(adj, client, project))
        return [
            Piece(fx, fy, client, project, tuple(tags), "idle_kept", adjustment_ids=(adj.id,))
            for fx, fy in free
        ]


def _in_any(t: float, spans: Sequence[Span]) -> bool:
    return any(x <= t < y for x, y in spans)


def apply_adjustments(
    pieces: Sequence[Piece],
    adjustments: Sequence[Adjustment],
    gaps: Sequence[Span],
    locks: Sequence[Lock],
    window: Span,
) -> list[Piece]:
    """The pieces after every adjustment in effect, in seq order; adjustments are
    clipped to ``window`` and those outside it cost nothing."""
    tl = PieceList(pieces)
    run = _Apply(tl, gaps, locks)
    lo, hi = window
    for adj in adjustments:
        if adj.kind in RANGE_KINDS and adj.start is not None and adj.end is not None:
            if to_epoch(adj.end) <= lo or to_epoch(adj.start) >= hi:
                continue
            a, b = max(to_epoch(adj.start), lo), min(to_epoch(adj.end), hi)
            adj = msgspec.structs.replace(
                adj,
                start=from_epoch(a),
                end=from_epoch(b),
                split_at=(
                    None
                    if adj.split_at is None
                    else from_epoch(min(max(to_epoch(adj.split_at), a), b))
                ),
            )
            run.run(adj)
    return dedupe(tl.pieces)


_PRIORITY = {"evidence": 0, "idle_kept": 1, "manual": 2}


def dedupe(pieces: Sequence[Piece]) -> list[Piece]:
    """Time counted once per category: where pieces of one client/project/tags overlap
    (parallel work given to one client), evidence wins over kept idle over manual time,
    counted over removed. Categories without overlaps pass through untouched."""
    by_key: dict[tuple[str | None, str | None, tuple[str, ...]], list[Piece]] = {}
    for p in pieces:
        by_key.setdefault(p.key, []).append(p)
    out: list[Piece] = []
    for group in by_key.values():
        group.sort(key=lambda p: (p.start, p.end))
        reach = float("-inf")
        overlaps = False
        for p in group:
            if p.start < reach and p.end > p.start:
                overlaps = True
                break
            reach = max(reach, p.end)
        if not overlaps:
            out.extend(group)
            continue
        out.extend(_resolve(group))
    out.sort(key=lambda p: (p.start, p.end))
    return out


def _rank(p: Piece) -> tuple[bool, int]:
    return (not p.counted, _PRIORITY[p.source])


def _free_of(span: Span, taken: list[Span], starts: list[float]) -> list[Span]:
    """``span`` minus the sorted, disjoint ``taken`` (found by bisect)."""
    a, b = span
    k = max(0, bisect_right(starts, a) - 1)
    out: list[Span] = []
    cursor = a
    while k < len(taken) and taken[k][0] < b:
        x, y = taken[k]
        if y > cursor:
            if x > cursor:
                out.append((cursor, x))
            cursor = max(cursor, y)
        k += 1
    if cursor < b:
        out.append((cursor, b))
    return out


def _resolve(group: list[Piece]) -> list[Piece]:
    """One category's overlapping pieces made disjoint, rank by rank (evidence, kept idle,
    manual, then removed time), earlier first within a rank: O(n log n)."""
    out: list[Piece] = []
    taken: list[Span] = []
    for rank in sorted({_rank(p) for p in group}):
        starts = [x for x, _ in taken]
        level: list[Span] = []
        reach = float("-inf")
        for p in sorted((p for p in group if _rank(p) == rank), key=lambda p: p.start):
            if p.end == p.start:
                out.append(p)
                continue
            x = max(p.start, reach)
            if x >= p.end:
                continue
            reach = max(reach, p.end)
            for fx, fy in _free_of((x, p.end), taken, starts):
                out.append(p if (fx, fy) == (p.start, p.end) else p.cut(fx, fy))
                level.append((fx, fy))
        taken = union([*taken, *level])
    return out


__all__ = ["RANGE_KINDS", "Lock", "apply_adjustments", "dedupe", "effective", "usable"]
