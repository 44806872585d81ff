"""Hypothesis properties of derivation: sorted, disjoint, in-window, order-free, monotone."""

from __future__ import annotations

import itertools
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from mimolo.timeline import TimelinePolicy, TimelineSummary, derive_timeline

from ._builders import at, summ

INSTANCES = ("fa", "fb", "screen", "trail")
CLIENTS = (None, "acme", "globex")


@st.composite
def summaries(draw: st.DrawFn) -> TimelineSummary:
    start = draw(st.floats(min_value=-120, max_value=600, allow_nan=False))
    length = draw(st.one_of(st.just(0.0), st.floats(min_value=0, max_value=90)))
    return summ(
        draw(st.sampled_from(INSTANCES)),
        start,
        start + length,
        mode=draw(st.sampled_from(("active", "passive"))),
        keep_alive=draw(st.sampled_from((True, False, None))),
        client=draw(st.sampled_from(CLIENTS)),
    )


corpus = st.lists(summaries(), max_size=60)
cooldowns = st.floats(min_value=0, max_value=3600, allow_nan=False)
WINDOW = (at(0), at(480))
CONFIG = {"fb": "globex"}


def policy(cooldown: float, grouped: bool) -> TimelinePolicy:
    return TimelinePolicy(cooldown_s=cooldown, client_of_instance=CONFIG, group_by_client=grouped)


@settings(max_examples=150, deadline=None)
@given(corpus, cooldowns, st.booleans())
def test_sorted_disjoint_per_group_and_inside_window(
    items: list[TimelineSummary], cooldown: float, grouped: bool
) -> None:
    tl = derive_timeline(items, policy(cooldown, grouped), window=WINDOW)
    by_group: dict[str, list[tuple[float, float]]] = {}
    for seg in tl.segments:
        assert WINDOW[0] <= seg.start <= seg.end <= WINDOW[1]
        assert seg.duration_s == (seg.end - seg.start).total_seconds()
        assert seg.summary_count >= 1
        key = "+".join(seg.client_ids) if grouped else "all"
        by_group.setdefault(key, []).append((seg.start.timestamp(), seg.end.timestamp()))
    assert [s.start for s in tl.segments] == sorted(s.start for s in tl.segments)
    window_s = (WINDOW[1] - WINDOW[0]).total_seconds()
    for group in by_group.values():
        for (_, end), (start, _) in itertools.pairwise(group):
            assert start > end  # disjoint (and further apart than the cooldown)
            assert start - end > cooldown - 1e-5  # microsecond rounding
        assert sum(e - s for s, e in group) <= window_s + 1e-6


@settings(max_examples=150, deadline=None)
@given(corpus, cooldowns, st.booleans(), st.randoms(use_true_random=False))
def test_input_order_does_not_matter(
    items: list[TimelineSummary], cooldown: float, grouped: bool, rnd: random.Random
) -> None:
    shuffled = list(items)
    rnd.shuffle(shuffled)
    pol = policy(cooldown, grouped)
    assert derive_timeline(items, pol, window=WINDOW) == derive_timeline(
        shuffled, pol, window=WINDOW
    )


@settings(max_examples=150, deadline=None)
@given(corpus, cooldowns, cooldowns, st.booleans())
def test_longer_cooldown_never_yields_more_segments(
    items: list[TimelineSummary], a: float, b: float, grouped: bool
) -> None:
    short, long = sorted((a, b))
    n_short = len(derive_timeline(items, policy(short, grouped), window=WINDOW).segments)
    n_long = len(derive_timeline(items, policy(long, grouped), window=WINDOW).segments)
    assert n_long <= n_short


@settings(max_examples=100, deadline=None)
@given(corpus, cooldowns)
def test_passive_only_input_yields_no_segment(
    items: list[TimelineSummary], cooldown: float
) -> None:
    passive = [
        TimelineSummary(
            s.instance_id, s.plugin_id, s.start, s.end, "passive", s.keep_alive, s.client_id
        )
        for s in items
    ]
    assert derive_timeline(passive, policy(cooldown, True)).segments == []


@settings(max_examples=100, deadline=None)
@given(corpus, cooldowns)
def test_totals_agree_with_segments(items: list[TimelineSummary], cooldown: float) -> None:
    tl = derive_timeline(items, policy(cooldown, True), window=WINDOW)
    total = sum(s.duration_s for s in tl.segments)
    assert abs(sum(tl.per_client.values()) - total) < 1e-6
    assert abs(sum(d.duration_s for d in tl.per_day) - total) < 1e-6


class RefSeg:
    """A segment of the reference derivation."""

    def __init__(self, s: TimelineSummary) -> None:
        self.start, self.end, self.names, self.count = s.start, s.end, {s.instance_id}, 1


def reference(
    items: list[TimelineSummary], pol: TimelinePolicy, lo: float, hi: float
) -> list[tuple[float, float, list[str], int]]:
    """A slow, obviously correct derivation (quadratic attach) to check the fast one."""
    client_of = pol.client_of_instance
    inside = [s for s in items if s.end >= lo and s.start <= hi]

    def client(s: TimelineSummary) -> str | None:
        return s.client_id or client_of.get(s.instance_id)

    def group(s: TimelineSummary) -> str | None:
        return client(s) if pol.group_by_client else None

    acts = [s for s in inside if s.keep_alive is True and s.mode == "active"]
    rest = [s for s in inside if not (s.keep_alive is True and s.mode == "active")]
    out = []
    for key in {group(s) for s in acts}:
        segs: list[RefSeg] = []
        for s in sorted((s for s in acts if group(s) == key), key=lambda s: s.start):
            if segs and s.start - segs[-1].end <= pol.cooldown_s:
                segs[-1].end = max(segs[-1].end, s.end)
                segs[-1].names.add(s.instance_id)
                segs[-1].count += 1
            else:
                segs.append(RefSeg(s))
        for seg in segs:
            start, end = max(seg.start, lo), min(seg.end, hi)
            for s in rest:
                c = client(s)
                if pol.group_by_client and c is not None and c != key:
                    continue
                if max(s.start, lo) <= end and min(s.end, hi) >= start:
                    seg.names.add(s.instance_id)
                    seg.count += 1
            out.append((start, end, sorted(seg.names), seg.count))
    return sorted(out)


@settings(max_examples=200, deadline=None)
@given(corpus, cooldowns, st.booleans())
def test_matches_the_slow_reference(
    items: list[TimelineSummary], cooldown: float, grouped: bool
) -> None:
    pol = policy(cooldown, grouped)
    lo, hi = WINDOW[0].timestamp(), WINDOW[1].timestamp()
    fast = derive_timeline(items, pol, window=WINDOW)
    got = sorted(
        (s.start.timestamp(), s.end.timestamp(), s.instances, s.summary_count)
        for s in fast.segments
    )
    want = reference(items, pol, lo, hi)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert abs(g[0] - w[0]) < 1e-5 and abs(g[1] - w[1]) < 1e-5
        assert g[2:] == w[2:]
