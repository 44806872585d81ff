"""Billing figures: the derivation terms, each rounding mode, hours and amount, rates."""

from __future__ import annotations

from decimal import Decimal

import pytest

from mimolo.errors import ConfigError
from mimolo.protocol.review import ReviewSettings
from mimolo.timeline import TimelinePolicy, TimelineSummary
from mimolo.timeline.billing import billing_figures, identity_holds, inputs_hash, parse_rate
from mimolo.timeline.review import review_summaries
from mimolo.timeline.reviewed import ReviewedTimeline

from ._builders import at, summ
from ._review import adj, inputs

WINDOW = (at(-60), at(1500))


def day(*adjustments: object) -> ReviewedTimeline:
    # acme: 0-50 (50 min), 100-107 (7 min), and 1430-1450 on the next UTC day (20 min)
    items = [
        summ("fa", 0, 50, client="acme"),
        summ("fa", 100, 107, client="acme"),
        summ("fa", 1000, 1020, client="acme"),
    ]
    numbered = [
        TimelineSummary(
            s.instance_id, s.plugin_id, s.start, s.end, s.mode, s.keep_alive, s.client_id, i
        )
        for i, s in enumerate(items, start=1)
    ]
    ri = inputs(adjustments=list(adjustments))  # type: ignore[arg-type]
    return review_summaries(numbered, *WINDOW, TimelinePolicy(cooldown_s=300), ri)


def figures(tl: ReviewedTimeline, rounding: str = "none", minutes: int = 0) -> object:
    return billing_figures(
        tl,
        client_id="acme",
        project=None,
        start=WINDOW[0],
        end=WINDOW[1],
        rate=Decimal("90"),
        currency="EUR",
        rounding=rounding,  # type: ignore[arg-type]
        rounding_minutes=minutes,
    )


def test_terms_of_each_kind_of_adjustment() -> None:
    tl = day(
        adj(1, "manual_entry", 200, 230, client="acme"),  # +30 min
        adj(2, "exclude_range", 40, 50),  # -10 min
        adj(3, "idle_keep", 50, 100),  # +50 min kept (the gap after the first work)
        adj(4, "idle_discard", 1000, 1005),  # -5 min of recorded work, as idle
    )
    f = figures(tl)
    assert (
        f.recorded_active_s,  # type: ignore[attr-defined]
        f.excluded_s,  # type: ignore[attr-defined]
        f.manual_added_s,  # type: ignore[attr-defined]
        f.idle_kept_s,  # type: ignore[attr-defined]
        f.idle_removed_s,  # type: ignore[attr-defined]
    ) == (77 * 60.0, 600.0, 1800.0, 3000.0, 300.0)
    assert f.billable_s == (77 - 10 + 30 + 50 - 5) * 60.0  # type: ignore[attr-defined]
    assert identity_holds(f)  # type: ignore[arg-type]
    assert f.hours == "2.37" and f.amount == "213.30"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("rounding", "minutes", "billable_min"),
    [
        ("none", 15, 77),
        ("entry", 15, 60 + 15 + 30),  # 50->60, 7->15, 20->30
        ("day", 15, 60 + 30),  # 57->60 on day one, 20->30 on day two
        ("invoice", 15, 90),  # 77->90
        ("entry", 0, 77),
    ],
)
def test_rounding_modes(rounding: str, minutes: int, billable_min: int) -> None:
    f = figures(day(), rounding, minutes)
    assert f.billable_s == billable_min * 60  # type: ignore[attr-defined]
    assert f.rounding_delta_s == (billable_min - 77) * 60  # type: ignore[attr-defined]
    assert identity_holds(f)  # type: ignore[arg-type]


def test_per_day_is_in_local_days() -> None:
    f = figures(day(), "day", 15)
    assert f.per_day == {"2026-03-02": 3600.0, "2026-03-03": 1800.0}  # type: ignore[attr-defined]


@pytest.mark.parametrize("bad", ["abc", "-1", "NaN", "Infinity"])
def test_bad_rates(bad: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_rate(bad)
    assert info.value.field == "rate"


def test_negative_rounding_minutes() -> None:
    with pytest.raises(ConfigError) as info:
        figures(day(), "entry", -1)
    assert info.value.field == "rounding_minutes"


def test_inputs_hash_follows_what_the_figures_come_from() -> None:
    settings = ReviewSettings()
    terms = {
        "client_id": "acme",
        "project": None,
        "start": WINDOW[0],
        "end": WINDOW[1],
        "rate": Decimal("90"),
        "currency": "EUR",
        "rounding": "none",
        "rounding_minutes": 0,
    }
    plain = inputs_hash(day(), settings, **terms)  # type: ignore[arg-type]
    assert plain == inputs_hash(day(), settings, **terms)  # type: ignore[arg-type]
    excluded = inputs_hash(day(adj(1, "exclude_range", 0, 5)), settings, **terms)  # type: ignore[arg-type]
    assert excluded != plain and len(plain) == 64
