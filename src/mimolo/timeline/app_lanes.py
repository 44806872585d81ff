"""Application lanes: time per application from desktop_activity summaries (pure core).

A summary reports, for its ``data.window``, seconds per application (its own top-N) and
``other_s`` for the rest. ``parse_app_lines`` turns ledger bytes into ``AppUse`` rows
(only lines that mention the plugin are decoded, with a view of their own);
``build_app_lanes`` keeps the range's top applications as lanes and folds the rest into
one "other" lane. Reported seconds are trusted only up to the window: a summary claiming
more than its window is scaled down, and a window cut by the range counts pro rata, so a
lane never holds more time than the windows it was drawn from.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

import msgspec

from mimolo.dataroot import DataRoot
from mimolo.protocol.evidence import applications_decoder
from mimolo.timeline.models import from_epoch, to_epoch
from mimolo.timeline.reader import ReadWarning, evidence_days

DESKTOP_PLUGIN = "desktop_activity"
DEFAULT_TOP_N = 7
COUNTED_STATES = frozenset({"active"})
"""Summary states whose application time is drawn (idle and paused windows are not use)."""

_decoder = applications_decoder()


class AppUse(msgspec.Struct, frozen=True, gc=False):
    """One summary's application time: ``[start, end]`` POSIX seconds, seconds per app."""

    start: float
    end: float
    apps: tuple[tuple[str, float], ...]
    other_s: float = 0.0


class AppLane(msgspec.Struct, frozen=True, kw_only=True):
    """One application's time in the range; ``spans`` are merged adjacent windows
    ``(start, end, seconds used within them)``."""

    application: str
    seconds: float
    spans: list[tuple[datetime, datetime, float]]


class AppLanes(msgspec.Struct, frozen=True, kw_only=True):
    """The range's top applications (biggest first), the rest as ``other``, the total."""

    lanes: list[AppLane]
    other: AppLane | None
    total_s: float
    applications: int
    """How many distinct applications had time (lanes plus those folded into other)."""


def _finite(value: float) -> float:
    return value if math.isfinite(value) and value > 0 else 0.0


def parse_app_lines(
    data: bytes, path: str = "", first_line: int = 1, *, plugin_id: str = DESKTOP_PLUGIN
) -> tuple[list[AppUse], list[ReadWarning]]:
    """``AppUse`` rows of the plugin's summaries in ``data``; bad lines become warnings.

    Lines that do not name the plugin are skipped unread, so a day of other agents'
    evidence costs one substring search per line.
    """
    needle = f'"{plugin_id}"'.encode()
    out: list[AppUse] = []
    warnings: list[ReadWarning] = []
    for offset, line in enumerate(data.split(b"\n")):
        if needle not in line:
            continue
        try:
            view = _decoder.decode(line)
        except (msgspec.DecodeError, ValueError) as exc:
            warnings.append(ReadWarning(path, first_line + offset, f"invalid line: {exc}"))
            continue
        rec = view.record
        if view.plugin_id != plugin_id or rec.type != "summary":
            continue
        body = rec.data
        if body.state is not None and body.state not in COUNTED_STATES:
            continue
        if body.window is None:
            continue  # no window, no span to place the time in
        start, end = to_epoch(body.window.start), to_epoch(body.window.end)
        if end < start:
            warnings.append(ReadWarning(path, first_line + offset, "window.end before start"))
            continue
        apps = tuple((a.application, _finite(a.seconds)) for a in body.applications)
        out.append(AppUse(start, end, apps, _finite(body.other_s)))
    return out, warnings


def read_app_usage(
    data_root: DataRoot, start: datetime, end: datetime, *, plugin_id: str = DESKTOP_PLUGIN
) -> tuple[list[AppUse], list[ReadWarning]]:
    """Every ``AppUse`` of the ledger days around ``[start, end)`` (the edge: file reads)."""
    out: list[AppUse] = []
    warnings: list[ReadWarning] = []
    for day in evidence_days(start, end):
        path: Path = data_root.evidence_file(day)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            continue
        got, warn = parse_app_lines(data, str(path), plugin_id=plugin_id)
        out.extend(got)
        warnings.extend(warn)
    return out, warnings


def _clipped(use: AppUse, lo: float, hi: float) -> tuple[float, float, float] | None:
    """``(start, end, factor)``: the window cut to the range and the share of reported
    seconds that counts there (capped so the total never exceeds the window)."""
    length = use.end - use.start
    a, b = max(use.start, lo), min(use.end, hi)
    if length <= 0 or b <= a:
        return None
    reported = sum(s for _, s in use.apps) + use.other_s
    if reported <= 0:
        return None
    cap = min(1.0, length / reported)
    return a, b, cap * (b - a) / length


def _merge(spans: list[tuple[float, float, float]]) -> list[tuple[datetime, datetime, float]]:
    """Touching or overlapping windows become one span (their seconds summed)."""
    spans.sort()
    merged: list[list[float]] = []
    for a, b, secs in spans:
        if merged and a <= merged[-1][1]:
            last = merged[-1]
            last[1] = max(last[1], b)
            last[2] += secs
        else:
            merged.append([a, b, secs])
    return [(from_epoch(a), from_epoch(b), secs) for a, b, secs in merged]


def build_app_lanes(
    uses: Iterable[AppUse], start: datetime, end: datetime, *, top_n: int = DEFAULT_TOP_N
) -> AppLanes:
    """Lanes of the ``top_n`` applications with the most time in ``[start, end)``.

    Ties rank by name; everything else (and each summary's own ``other_s``) is the
    ``other`` lane, so the lanes plus ``other`` always add up to ``total_s``.
    """
    if top_n < 0:
        raise ValueError("top_n must not be negative")
    lo, hi = to_epoch(start), to_epoch(end)
    per_app: dict[str, list[tuple[float, float, float]]] = {}
    totals: dict[str, float] = {}
    rest: list[tuple[float, float, float]] = []
    for use in uses:
        clip = _clipped(use, lo, hi)
        if clip is None:
            continue
        a, b, factor = clip
        in_window: dict[str, float] = {}
        for name, secs in use.apps:
            if secs > 0:
                in_window[name] = in_window.get(name, 0.0) + secs * factor
        for name, secs in in_window.items():
            per_app.setdefault(name, []).append((a, b, secs))
            totals[name] = totals.get(name, 0.0) + secs
        if use.other_s > 0:
            rest.append((a, b, use.other_s * factor))
    ranked = sorted(totals, key=lambda name: (-totals[name], name))
    lanes = [
        AppLane(application=name, seconds=totals[name], spans=_merge(per_app[name]))
        for name in ranked[:top_n]
    ]
    for name in ranked[top_n:]:
        rest.extend(per_app[name])
    other = (
        AppLane(application="other", seconds=sum(s for _, _, s in rest), spans=_merge(rest))
        if rest
        else None
    )
    total = sum(lane.seconds for lane in lanes) + (other.seconds if other else 0.0)
    return AppLanes(lanes=lanes, other=other, total_s=total, applications=len(ranked))


def lane_rows(lanes: AppLanes) -> Sequence[AppLane]:
    """The lanes in drawing order: top applications, then other."""
    return [*lanes.lanes, lanes.other] if lanes.other is not None else list(lanes.lanes)


__all__ = [
    "COUNTED_STATES",
    "DEFAULT_TOP_N",
    "DESKTOP_PLUGIN",
    "AppLane",
    "AppLanes",
    "AppUse",
    "build_app_lanes",
    "lane_rows",
    "parse_app_lines",
    "read_app_usage",
]
