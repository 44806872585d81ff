"""The derivation section and invoice lines always add up (properties over generated
reviewed timelines, billed by the timeline's own ``billing_figures``)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mimolo.errors import ReportError
from mimolo.protocol.review import BillingFigures, RoundingMode
from mimolo.reports.derivation import (
    check_figures,
    derivation_rows,
    hours_of,
    invoice_lines,
    plain_figures,
    settle,
)
from mimolo.timeline.billing import billing_figures
from mimolo.timeline.reviewed import Removal, ReviewedSegment, ReviewedTimeline, SegmentSource

BASE = datetime(2026, 3, 2, 6, tzinfo=UTC)
END = BASE + timedelta(days=6)
SOURCES: list[SegmentSource] = ["evidence", "manual", "idle_kept"]
REMOVALS: list[Removal] = ["", "", "", "excluded", "idle"]


@st.composite
def segments(draw: st.DrawFn) -> ReviewedSegment:
    start = BASE + timedelta(seconds=draw(st.integers(0, 5 * 86400)))
    length = draw(st.one_of(st.integers(1, 9 * 3600), st.floats(0.5, 7200.0)))
    end = start + timedelta(seconds=length)
    source = draw(st.sampled_from(SOURCES))
    removed = draw(st.sampled_from(REMOVALS))
    return ReviewedSegment(
        start=start,
        end=end,
        duration_s=(end - start).total_seconds(),
        instances=["x"],
        client_ids=["acme"],
        summary_count=1,
        client_id="acme",
        project=draw(st.sampled_from([None, "web", "app"])),
        source=source,
        removed=removed,
    )


@st.composite
def timelines(draw: st.DrawFn) -> ReviewedTimeline:
    segs = draw(st.lists(segments(), max_size=25))
    return ReviewedTimeline(
        segments=sorted((s for s in segs if not s.removed), key=lambda s: s.start),
        removed=[s for s in segs if s.removed],
        per_day=[],
        per_client={},
        per_project={},
        timezone=draw(st.sampled_from(["UTC", "America/Los_Angeles", "Pacific/Auckland"])),
    )


ROUNDING: list[RoundingMode] = ["none", "entry", "day", "invoice"]


@settings(max_examples=200, deadline=None)
@given(
    timeline=timelines(),
    rounding=st.sampled_from(ROUNDING),
    minutes=st.sampled_from([0, 1, 6, 15]),
    rate=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999.99"), places=2),
)
def test_printed_derivation_and_lines_add_up(
    timeline: ReviewedTimeline, rounding: RoundingMode, minutes: int, rate: Decimal
) -> None:
    figures = billing_figures(
        timeline, client_id="acme", project=None, start=BASE, end=END, rate=rate,
        currency="EUR", rounding=rounding, rounding_minutes=minutes,
    )  # fmt: skip
    check_figures(figures)
    rows = derivation_rows(figures)
    steps, result = rows[:-1], rows[-1]
    assert [r.key for r in rows] == [
        "recorded", "idle_removed", "idle_kept", "manual", "excluded", "rounding", "billable"
    ]  # fmt: skip
    assert sum(r.shown_s for r in steps) == result.shown_s
    for row in steps:
        assert abs(abs(row.shown_s) - row.seconds) <= 1.0
        if row.sign == "-":
            assert row.shown_s <= 0
    lines = invoice_lines(figures, rate)
    assert sum((line.hours for line in lines), Decimal(0)) == Decimal(figures.hours)
    assert sum((line.amount for line in lines), Decimal(0)) == Decimal(figures.amount)
    billed_days = sorted(d for d, s in figures.per_day.items() if s > 0)
    if not billed_days and Decimal(figures.hours) > 0:  # rounding alone made the bill
        billed_days = sorted(figures.per_day)[-1:]
    assert [line.day.isoformat() for line in lines] == billed_days


@settings(max_examples=200, deadline=None)
@given(
    days=st.lists(st.floats(0.0, 86400.0), min_size=1, max_size=31),
    rate=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("500"), places=2),
)
def test_plain_evidence_bills_each_day_as_before(days: list[float], rate: Decimal) -> None:
    """Without the review layer each line is the day's own rounding (as evidence-pack
    verifiers recompute it) and the totals are the lines' sums."""
    per_day = [(date(2026, 3, 1) + timedelta(days=i), s) for i, s in enumerate(days)]
    figures = plain_figures(per_day, rate, "EUR")
    check_figures(figures)
    lines = invoice_lines(figures, rate)
    kept = [(d, s) for d, s in per_day if s > 0]
    assert [line.hours for line in lines] == [hours_of(s) for _, s in kept]
    assert [line.amount for line in lines] == [
        (hours_of(s) * rate).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP") for _, s in kept
    ]


@given(
    values=st.lists(st.decimals(min_value=-1000, max_value=1000, places=3), min_size=1),
)
def test_settle_reaches_the_total_moving_each_value_at_most_a_unit(values: list[Decimal]) -> None:
    unit = Decimal("0.01")
    exact = values
    first = [v.quantize(unit) for v in exact]
    total = sum(exact, Decimal(0)).quantize(unit)
    out = settle(first, exact, total, unit)
    assert sum(out, Decimal(0)) == total
    assert all(abs(o - e) < 2 * unit for o, e in zip(out, exact, strict=True))


def _figures(**changes: object) -> BillingFigures:
    base: dict[str, object] = {
        "recorded_active_s": 7200.0, "idle_removed_s": 600.0, "idle_kept_s": 300.0,
        "manual_added_s": 1800.0, "excluded_s": 900.0, "rounding_delta_s": 120.0,
        "billable_s": 7920.0, "hours": "2.20", "rate": "100", "currency": "EUR",
        "amount": "220.00", "rounding": "invoice", "rounding_minutes": 6,
        "per_day": {"2026-03-02": 3600.0, "2026-03-03": 4200.0},
    }  # fmt: skip
    base.update(changes)
    return BillingFigures(**base)  # type: ignore[arg-type]


def test_figures_that_do_not_add_up_are_refused() -> None:
    check_figures(_figures())
    with pytest.raises(ReportError) as caught:
        check_figures(_figures(billable_s=8000.0))
    assert caught.value.code == "report_figures_inconsistent" and "80.000 s" in caught.value.message


def test_rounding_per_invoice_is_spread_in_cents_over_the_days() -> None:
    """2:10 of work billed as 2.20 h: the 0.03 h the rounding added go to the days in
    proportion (1:00 → 1.02 h, 1:10 → 1.18 h), and the lines still sum to the total."""
    lines = invoice_lines(_figures(), Decimal(100))
    assert [(str(x.hours), str(x.amount)) for x in lines] == [
        ("1.02", "102.00"),
        ("1.18", "118.00"),
    ]
    rows = {r.key: r for r in derivation_rows(_figures())}
    assert rows["rounding"].label == "Rounding (the total up to 6 min)"
    assert rows["rounding"].mark == "+" and rows["excluded"].mark == "\u2212"
    assert rows["billable"].shown_s == 7920


def test_billed_hours_without_any_day_are_refused() -> None:
    with pytest.raises(ReportError):
        invoice_lines(_figures(per_day={}), Decimal(100))
    assert invoice_lines(_figures(per_day={}, hours="0.00", amount="0.00"), Decimal(1)) == []


def test_a_bill_made_by_rounding_alone_is_one_line_on_the_last_day() -> None:
    """Sub-second work rounded up per invoice: hours to bill, but no day with whole time."""
    figures = BillingFigures(
        recorded_active_s=0.0, idle_removed_s=0.0, idle_kept_s=0.0, manual_added_s=2.0,
        excluded_s=1.0, rounding_delta_s=59.0, billable_s=60.0, hours="0.02", rate="30",
        currency="EUR", amount="0.60", rounding="invoice", rounding_minutes=1,
        per_day={"2026-03-01": 0.0, "2026-03-02": 0.0},
    )  # fmt: skip
    lines = invoice_lines(figures, Decimal("30"))
    assert [(line.day.isoformat(), line.hours, line.amount) for line in lines] == [
        ("2026-03-02", Decimal("0.02"), Decimal("0.60"))
    ]


def test_time_that_was_all_excluded_bills_nothing_even_rounded_per_invoice() -> None:
    """Terms rounded to whole seconds one by one (1.5 s recorded, 2.5 s excluded) must
    not leave a second that per-invoice rounding then bills as a minute."""

    def gone(seconds: float, source: SegmentSource) -> ReviewedSegment:
        return ReviewedSegment(
            start=BASE, end=BASE + timedelta(seconds=seconds), duration_s=seconds,
            instances=["x"], client_ids=["acme"], summary_count=1, client_id="acme",
            source=source, removed="excluded",
        )  # fmt: skip

    timeline = ReviewedTimeline(
        segments=[], per_day=[], per_client={}, per_project={}, timezone="UTC",
        removed=[gone(1.0, "evidence"), gone(1.0, "manual"), gone(0.5, "evidence")],
    )  # fmt: skip
    figures = billing_figures(
        timeline, client_id="acme", project=None, start=BASE, end=END, rate=Decimal("30"),
        currency="EUR", rounding="invoice", rounding_minutes=1,
    )  # fmt: skip
    check_figures(figures)
    assert (figures.billable_s, figures.hours, figures.amount) == (0.0, "0.00", "0.00")
    assert invoice_lines(figures, Decimal("30")) == []
