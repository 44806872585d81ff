"""Golden cases of DESIGN §6 derivation, hand-computed."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from mimolo.errors import ConfigError
from mimolo.timeline import UNASSIGNED, TimelinePolicy, derive_timeline

from ._builders import BASE_S, at, summ

UNGROUPED = TimelinePolicy(group_by_client=False)


def spans(timeline: object) -> list[tuple[datetime, datetime]]:
    return [(s.start, s.end) for s in timeline.segments]  # type: ignore[attr-defined]


def test_activity_within_cooldown_joins_and_segment_ends_at_last_activity() -> None:
    # 0-1, 1-2 contiguous; 11-12 starts 9 min after 2 (< 10 min cooldown) -> same segment;
    # 30-31 starts 18 min after 12 -> new segment. The first ends at 12, not 12 + cooldown.
    items = [summ("a", 0, 1), summ("a", 1, 2), summ("a", 11, 12), summ("a", 30, 31)]
    tl = derive_timeline(items, UNGROUPED)
    assert spans(tl) == [(at(0), at(12)), (at(30), at(31))]
    assert [s.duration_s for s in tl.segments] == [720.0, 60.0]
    assert [s.summary_count for s in tl.segments] == [3, 1]
    assert tl.total_s == 780.0


def test_gap_exactly_cooldown_joins_and_just_over_splits() -> None:
    joined = derive_timeline([summ("a", 0, 1), summ("a", 11, 12)], UNGROUPED)
    split = derive_timeline([summ("a", 0, 1), summ("a", 11.01, 12)], UNGROUPED)
    assert len(joined.segments) == 1
    assert len(split.segments) == 2


def test_custom_cooldown() -> None:
    items = [summ("a", 0, 1), summ("a", 4, 5)]
    assert len(derive_timeline(items, TimelinePolicy(cooldown_s=120)).segments) == 2
    assert len(derive_timeline(items, TimelinePolicy(cooldown_s=180)).segments) == 1


def test_passive_never_starts_or_extends_but_is_attached() -> None:
    items = [
        summ("screen", -5, 0, mode="passive", keep_alive=None),
        summ("screen", 0, 5, mode="passive", keep_alive=None),
        summ("a", 1, 2),
        summ("screen", 5, 30, mode="passive", keep_alive=None),  # overlaps? no: seg ends at 2
        summ("screen", 100, 120, mode="passive", keep_alive=None),
    ]
    tl = derive_timeline(items, UNGROUPED)
    assert spans(tl) == [(at(1), at(2))]
    seg = tl.segments[0]
    assert seg.instances == ["a", "screen"]
    assert seg.summary_count == 2  # the activity plus the overlapping screen summary


def test_passive_only_yields_nothing() -> None:
    items = [summ("screen", i, i + 1, mode="passive", keep_alive=None) for i in range(30)]
    tl = derive_timeline(items)
    assert tl.segments == [] and tl.per_day == [] and tl.per_client == {}


def test_active_without_keep_alive_does_not_mark_activity() -> None:
    items = [summ("a", 0, 1, keep_alive=False), summ("a", 2, 3, keep_alive=None)]
    assert derive_timeline(items).segments == []
    mixed = derive_timeline([summ("a", 0, 1), summ("a", 0.5, 3, keep_alive=False)], UNGROUPED)
    assert spans(mixed) == [(at(0), at(1))]
    assert mixed.segments[0].summary_count == 2


def test_summary_without_window_is_a_point() -> None:
    tl = derive_timeline([summ("a", 5), summ("a", 8)], UNGROUPED)
    assert spans(tl) == [(at(5), at(8))]


def test_active_instances_restricts_and_overrides_mode() -> None:
    items = [summ("a", 0, 1), summ("b", 30, 31, mode="passive", keep_alive=True)]
    policy = TimelinePolicy(active_instances=frozenset({"b"}), group_by_client=False)
    tl = derive_timeline(items, policy)
    assert spans(tl) == [(at(30), at(31))]
    assert derive_timeline(items, UNGROUPED).segments[0].instances == ["a"]


def test_per_client_grouping_summary_first_then_instance_config() -> None:
    items = [
        summ("fa", 0, 10, client="acme"),
        summ("fb", 5, 15),  # client from config
        summ("fc", 40, 41),  # no client anywhere
        summ("screen", 0, 60, mode="passive", keep_alive=None),
        summ("fb", 2, 3, keep_alive=False, client="acme"),  # passive-ish, acme only
    ]
    policy = TimelinePolicy(client_of_instance={"fb": "globex"})
    tl = derive_timeline(items, policy)
    got = [(s.client_ids, s.start, s.end, s.instances, s.summary_count) for s in tl.segments]
    assert got == [
        (["acme"], at(0), at(10), ["fa", "fb", "screen"], 3),
        (["globex"], at(5), at(15), ["fb", "screen"], 2),
        ([], at(40), at(41), ["fc", "screen"], 2),
    ]
    assert tl.per_client == {"acme": 600.0, "globex": 600.0, UNASSIGNED: 60.0}
    ungrouped = derive_timeline(
        items, TimelinePolicy(client_of_instance={"fb": "globex"}, group_by_client=False)
    )
    assert spans(ungrouped) == [(at(0), at(15)), (at(40), at(41))]
    assert ungrouped.segments[0].client_ids == ["acme", "globex"]
    assert ungrouped.per_client == {"acme+globex": 900.0, UNASSIGNED: 60.0}


def test_window_clips_segments() -> None:
    tl = derive_timeline([summ("a", 0, 30)], UNGROUPED, window=(at(10), at(20)))
    assert spans(tl) == [(at(10), at(20))]
    assert derive_timeline([summ("a", 0, 5)], window=(at(10), at(20))).segments == []


def test_segment_across_midnight_splits_day_totals() -> None:
    start = datetime(2026, 3, 2, 23, 30, tzinfo=UTC).timestamp()
    items = [summ("a", (start - BASE_S) / 60 + i, (start - BASE_S) / 60 + i + 1) for i in range(60)]
    tl = derive_timeline(items, UNGROUPED)
    assert len(tl.segments) == 1
    assert [(d.day, d.duration_s) for d in tl.per_day] == [
        (date(2026, 3, 2), 1800.0),
        (date(2026, 3, 3), 1800.0),
    ]
    assert tl.per_day[0].per_client == {UNASSIGNED: 1800.0}


def test_reversed_input_gives_identical_timeline() -> None:
    items = [summ("a", i * 7, i * 7 + 1, client="c") for i in range(20)]
    assert derive_timeline(items) == derive_timeline(list(reversed(items)))


@pytest.mark.parametrize("cooldown", [-1.0, float("inf"), float("nan")])
def test_bad_cooldown_is_a_clear_error(cooldown: float) -> None:
    with pytest.raises(ConfigError, match="cooldown_s"):
        TimelinePolicy(cooldown_s=cooldown)


def test_segments_serialise_iso_utc() -> None:
    import msgspec

    tl = derive_timeline([summ("a", 0, 1, client="acme")])
    encoded = msgspec.json.encode(tl.segments[0])
    assert b'"start":"2026-03-02T09:00:00Z"' in encoded
    assert tl.segments[0].start.tzinfo == UTC


def test_worked_example_from_the_docs() -> None:
    """docs/timeline.md, "Worked example"."""
    items = [
        summ("fa", 0, 1),
        summ("fa", 1, 2),
        summ("screen", 0, 5, mode="passive", keep_alive=None),
        summ("fa", 11, 12),
        summ("fa", 14, 15, keep_alive=False),
        summ("fa", 30, 31),
    ]
    tl = derive_timeline(items)
    got = [(s.start, s.end, s.duration_s, s.instances, s.summary_count) for s in tl.segments]
    assert got == [
        (at(0), at(12), 720.0, ["fa", "screen"], 4),
        (at(30), at(31), 60.0, ["fa"], 1),
    ]
    assert tl.total_s == 780.0
