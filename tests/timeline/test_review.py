"""The reviewed timeline: rules, each adjustment kind, revokes, locks, local days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from mimolo.protocol.review import Assignment, Rule, RuleMatch
from mimolo.timeline import TimelinePolicy, TimelineSummary, derive_timeline
from mimolo.timeline.review import ReviewInputs, review_summaries
from mimolo.timeline.reviewed import ReviewedTimeline

from ._builders import BASE_S, at, summ
from ._review import adj, inputs

WINDOW = (at(-60), at(600))
POLICY = TimelinePolicy(cooldown_s=300)


def seq(items: list[TimelineSummary]) -> list[TimelineSummary]:
    """The summaries numbered as ledger records (1, 2, ...)."""
    return [
        TimelineSummary(
            s.instance_id, s.plugin_id, s.start, s.end, s.mode, s.keep_alive, s.client_id, i
        )
        for i, s in enumerate(items, start=1)
    ]


# work for acme 0-30 and 60-90 (a 30 min idle gap), globex 200-230, a passive screen
DAY = seq(
    [
        summ("fa", 0, 10, client="acme"),
        summ("fa", 10, 30, client="acme"),
        summ("screen", 5, 6, mode="passive", keep_alive=None),
        summ("fa", 60, 90, client="acme"),
        summ("fg", 200, 230, client="globex"),
    ]
)


def review(ri: ReviewInputs, items: list[TimelineSummary] = DAY, **kw: object) -> ReviewedTimeline:
    return review_summaries(items, *WINDOW, POLICY, ri, **kw)  # type: ignore[arg-type]


def spans(tl: ReviewedTimeline) -> list[tuple[float, float, str | None, str]]:
    return [
        (
            (s.start.timestamp() - BASE_S) / 60,
            (s.end.timestamp() - BASE_S) / 60,
            s.client_id,
            s.source,
        )
        for s in tl.segments
    ]


def test_without_review_it_is_the_grouped_derivation() -> None:
    tl = review(inputs())
    plain = derive_timeline(DAY, POLICY, window=WINDOW)
    fields = ("start", "end", "duration_s", "instances", "client_ids", "summary_count")
    assert [tuple(getattr(s, f) for f in fields) for s in tl.segments] == [
        tuple(getattr(s, f) for f in fields) for s in plain.segments
    ]
    assert tl.per_client == plain.per_client
    assert tl.timezone == "UTC"
    first = tl.segments[0]
    assert first.summary_seqs == [1, 2, 3] and first.source == "evidence"
    assert first.rule_ids == [] and first.adjustment_ids == [] and first.locked_by is None


def test_rules_recategorize_the_past_and_are_named() -> None:
    rules = [
        Rule(
            rule_id="web",
            match=RuleMatch(instance_id="fa"),
            assign=Assignment(client_id="initech", project="site", tags=("web",)),
        )
    ]
    tl = review(inputs(rules=rules))
    assert [(s.client_id, s.project, s.tags, s.rule_ids) for s in tl.segments] == [
        ("initech", "site", ["web"], ["web"]),
        ("initech", "site", ["web"], ["web"]),
        ("globex", None, [], []),
    ]
    assert tl.per_project == {"globex": {"": 1800.0}, "initech": {"site": 3600.0}}


def test_manual_entry_claims_its_range() -> None:
    tl = review(inputs(adjustments=[adj(1, "manual_entry", 20, 50, client="initech")]))
    assert spans(tl) == [
        (0, 20, "acme", "evidence"),
        (20, 30, "initech", "evidence"),  # seen work, given to the entry
        (30, 50, "initech", "manual"),  # the rest of the range, added
        (60, 90, "acme", "evidence"),
        (200, 230, "globex", "evidence"),
    ]
    assert tl.segments[1].adjustment_ids == ["adj0001"]
    assert tl.segments[1].summary_seqs == [2]  # the cut part names its own records
    assert tl.segments[2].summary_seqs == [] and tl.segments[2].summary_count == 0


def test_assign_and_exclude_ranges() -> None:
    tl = review(
        inputs(
            adjustments=[
                adj(1, "assign_range", 60, 90, client="globex", project="audit"),
                adj(2, "exclude_range", 210, 220),
            ]
        )
    )
    assert spans(tl) == [
        (0, 30, "acme", "evidence"),
        (60, 90, "globex", "evidence"),
        (200, 210, "globex", "evidence"),
        (220, 230, "globex", "evidence"),
    ]
    assert tl.segments[1].project == "audit"
    assert [(r.removed, r.adjustment_ids) for r in tl.removed] == [("excluded", ["adj0002"])]


def test_idle_gaps_keep_discard_split() -> None:
    plain = review(inputs())
    assert [(g.start, g.end, g.decided_by) for g in plain.idle_gaps] == [
        (at(30), at(60), None),
        (at(90), at(200), None),
    ]
    kept = review(inputs(adjustments=[adj(1, "idle_keep", 30, 60)]))
    assert (30, 60, "acme", "idle_kept") in spans(kept)  # the work before the gap
    assert kept.idle_gaps[0].decided_by == "adj0001"
    split = review(inputs(adjustments=[adj(1, "idle_split", 90, 200, split_min=120, client="x")]))
    assert (90, 120, "x", "idle_kept") in spans(split)
    assert split.per_client["x"] == 1800.0
    undone = review(
        inputs(adjustments=[adj(1, "idle_keep", 30, 60), adj(2, "idle_discard", 30, 60)])
    )
    assert spans(undone) == spans(plain)
    assert undone.idle_gaps[0].decided_by == "adj0002"


def test_a_revoke_restores_and_a_revoked_revoke_reapplies() -> None:
    exclude = adj(1, "exclude_range", 0, 30)
    revoke = adj(2, "revoke", revokes="adj0001")
    assert review(inputs(adjustments=[exclude, revoke])) == review(inputs())
    again = adj(3, "revoke", revokes="adj0002")
    assert review(inputs(adjustments=[exclude, revoke, again])) == review(
        inputs(adjustments=[exclude])
    )


def test_parallel_work_given_to_one_client_counts_once() -> None:
    items = seq([summ("fa", 0, 60, client="acme"), summ("fg", 30, 90, client="globex")])
    tl = review(inputs(adjustments=[adj(1, "assign_range", 0, 120, client="acme")]), items)
    assert tl.per_client == {"acme": 5400.0}


def test_a_lock_holds_against_later_adjustments() -> None:
    from mimolo.protocol.review import BillingFigures

    from ._review import issued, voided

    figures = BillingFigures(
        recorded_active_s=1,
        idle_removed_s=0,
        idle_kept_s=0,
        manual_added_s=0,
        excluded_s=0,
        rounding_delta_s=0,
        billable_s=1,
        hours="0.00",
        rate="1",
        currency="EUR",
        amount="0.00",
        rounding="none",
        rounding_minutes=0,
    )
    invoice = issued(1, "acme", at(0), at(100), figures)
    late = invoice.created_at + timedelta(hours=1)
    adjustments = [
        adj(1, "exclude_range", 0, 10, created=late),  # acme's locked time: not applied
        adj(2, "assign_range", 200, 230, client="acme", created=late),  # outside: applied
        adj(3, "manual_entry", 40, 50, client="acme", created=late),  # inside: not added
    ]
    tl = review(inputs(adjustments=adjustments, invoices=[invoice]))
    assert spans(tl) == [
        (0, 30, "acme", "evidence"),
        (60, 90, "acme", "evidence"),
        (200, 230, "acme", "evidence"),
    ]
    assert [s.locked_by for s in tl.segments] == ["inv0001", "inv0001", None]
    assert [(p.number, p.client_id) for p in tl.locked] == [("2026-0001", "acme")]
    lifted = review(inputs(adjustments=adjustments, invoices=[invoice, voided(2, "inv0001")]))
    assert (10, 30, "acme", "evidence") in spans(lifted) and not lifted.locked


def test_a_los_angeles_working_day_is_one_local_day() -> None:
    la = ZoneInfo("America/Los_Angeles")
    day = datetime(2026, 6, 10, 17, tzinfo=UTC)  # 10:00 PDT
    items = [
        TimelineSummary(
            "fa",
            "p",
            day.timestamp() + h * 3600,
            day.timestamp() + h * 3600 + 3000,
            "active",
            True,
            "acme",
            h + 1,
        )
        for h in range(8)  # 17:00Z to 01:00Z: 10:00 to 18:00 local
    ]
    window = (day - timedelta(hours=12), day + timedelta(hours=12))
    local = review_summaries(items, *window, TimelinePolicy(), inputs(tz=la))
    utc = review_summaries(items, *window, TimelinePolicy(), inputs())
    assert [d.day.isoformat() for d in local.per_day] == ["2026-06-10"]
    assert [d.day.isoformat() for d in utc.per_day] == ["2026-06-10", "2026-06-11"]
    assert local.timezone == "America/Los_Angeles"


def test_dst_days_in_the_totals() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    night = datetime(2026, 10, 24, 22, tzinfo=UTC)  # 00:00 CEST on the 25-hour day
    items = [
        TimelineSummary(
            "fa", "p", night.timestamp(), night.timestamp() + 25 * 3600, "active", True, None, 1
        )
    ]
    tl = review_summaries(
        items, night, night + timedelta(hours=25), TimelinePolicy(), inputs(tz=berlin)
    )
    assert [(d.day.isoformat(), d.duration_s, d.day_length_s) for d in tl.per_day] == [
        ("2026-10-25", 90000.0, 90000.0)
    ]


def test_client_and_project_filters() -> None:
    ri = inputs(adjustments=[adj(1, "assign_range", 60, 90, client="acme", project="p")])
    only = review(ri, client_id="acme", project="p")
    assert spans(only) == [(60, 90, "acme", "evidence")]
    assert set(review(ri, client_id="globex").per_client) == {"globex"}
