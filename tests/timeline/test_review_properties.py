"""Hypothesis properties of the review: no-review equality, revokes, the billing identity,
locked figures reproduced byte for byte after later rules and adjustments."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from mimolo.protocol.review import Adjustment, Assignment, BillingFigures, Rule, RuleMatch
from mimolo.timeline import TimelinePolicy, TimelineSummary, derive_timeline
from mimolo.timeline.billing import billing_figures, identity_holds
from mimolo.timeline.review import review_summaries
from mimolo.timeline.reviewed import ReviewedTimeline

from ._builders import at
from ._review import adj, inputs, issued
from .test_derive_properties import CONFIG, corpus

WINDOW = (at(0), at(480))
CLIENTS = (None, "acme", "globex")
KINDS = ("manual_entry", "assign_range", "exclude_range", "idle_keep", "idle_discard", "idle_split")


def numbered(items: list[TimelineSummary]) -> list[TimelineSummary]:
    return [msgspec.structs.replace(s, seq=i) for i, s in enumerate(items, start=1)]


@st.composite
def adjustment_lists(draw: st.DrawFn, first_seq: int = 1) -> list[Adjustment]:
    out: list[Adjustment] = []
    for i in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from(KINDS))
        a = draw(st.integers(-30, 500))
        b = a + draw(st.integers(1, 120))
        split = a + (b - a) / 2 if kind == "idle_split" and b - a >= 2 else None
        if kind == "idle_split" and split is None:
            kind = "idle_keep"
        out.append(
            adj(
                first_seq + i,
                kind,  # type: ignore[arg-type]
                a,
                b,
                client=draw(st.sampled_from(CLIENTS)),
                project=draw(st.sampled_from((None, "web"))),
                split_min=split,
            )
        )
    return out


def policy(cooldown: float) -> TimelinePolicy:
    return TimelinePolicy(cooldown_s=cooldown, client_of_instance=CONFIG)


cooldowns = st.sampled_from((0.0, 60.0, 600.0))


@settings(max_examples=150, deadline=None)
@given(corpus, cooldowns)
def test_no_review_is_exactly_the_grouped_derivation(
    items: list[TimelineSummary], cooldown: float
) -> None:
    tl = review_summaries(items, *WINDOW, policy(cooldown), inputs())
    plain = derive_timeline(items, policy(cooldown), window=WINDOW)
    fields = ("start", "end", "duration_s", "instances", "client_ids", "summary_count")
    assert [tuple(getattr(s, f) for f in fields) for s in tl.segments] == [
        tuple(getattr(s, f) for f in fields) for s in plain.segments
    ]
    assert tl.per_client == plain.per_client
    assert [(d.day, d.duration_s, d.per_client) for d in tl.per_day] == [
        (d.day, d.duration_s, d.per_client) for d in plain.per_day
    ]


@settings(max_examples=150, deadline=None)
@given(corpus, adjustment_lists(), adjustment_lists(first_seq=20), st.data())
def test_revoking_restores_the_previous_derivation_exactly(
    items: list[TimelineSummary],
    before: list[Adjustment],
    extra: list[Adjustment],
    data: st.DataObject,
) -> None:
    items = numbered(items)
    base = review_summaries(items, *WINDOW, policy(60), inputs(adjustments=before))
    revokes = [adj(100 + i, "revoke", revokes=x.id) for i, x in enumerate(extra)]
    order = data.draw(st.permutations([*before, *extra, *revokes]))
    again = review_summaries(items, *WINDOW, policy(60), inputs(adjustments=order))
    assert again == base


@settings(max_examples=200, deadline=None)
@given(
    corpus,
    adjustment_lists(),
    st.sampled_from(("none", "entry", "day", "invoice")),
    st.sampled_from((0, 1, 6, 15)),
    st.sampled_from(CLIENTS[1:]),
    st.sampled_from((None, "web")),
)
def test_the_billing_identity_always_holds(
    items: list[TimelineSummary],
    adjustments: list[Adjustment],
    rounding: str,
    minutes: int,
    client: str,
    project: str | None,
) -> None:
    tl = review_summaries(numbered(items), *WINDOW, policy(60), inputs(adjustments=adjustments))
    f = billing_figures(
        tl,
        client_id=client,
        project=project,
        start=WINDOW[0],
        end=WINDOW[1],
        rate=Decimal("85.50"),
        currency="EUR",
        rounding=rounding,  # type: ignore[arg-type]
        rounding_minutes=minutes,
    )
    assert identity_holds(f)
    assert f.rounding_delta_s >= 0 or rounding == "none"
    if rounding in ("entry", "day") and minutes:
        assert f.billable_s % (minutes * 60) == 0
        assert sum(f.per_day.values()) == f.billable_s
    cents = (Decimal(f.hours) * Decimal("85.50")).quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert Decimal(f.amount) == cents


def bill(tl: ReviewedTimeline, span: tuple[datetime, datetime]) -> BillingFigures:
    return billing_figures(
        tl,
        client_id="acme",
        project=None,
        start=span[0],
        end=span[1],
        rate=Decimal("120"),
        currency="EUR",
        rounding="entry",
        rounding_minutes=6,
    )


RULE_SETS = st.lists(
    st.builds(
        lambda i, inst, client: Rule(
            rule_id=f"r{i}",
            match=RuleMatch(instance_id=inst),
            assign=Assignment(client_id=client, project="web"),
        ),
        st.integers(0, 5),
        st.sampled_from(("f*", "screen", "trail", "*")),
        st.sampled_from(CLIENTS),
    ),
    max_size=3,
    unique_by=lambda r: r.rule_id,
)


@settings(max_examples=150, deadline=None)
@given(corpus, adjustment_lists(), adjustment_lists(first_seq=50), RULE_SETS, st.data())
def test_a_locked_invoice_is_reproduced_byte_for_byte(
    items: list[TimelineSummary],
    before: list[Adjustment],
    later: list[Adjustment],
    rules: list[Rule],
    data: st.DataObject,
) -> None:
    items = numbered(items)
    lo = data.draw(st.integers(0, 200))
    span = (at(lo), at(lo + data.draw(st.integers(30, 280))))
    ri = inputs(adjustments=before)
    tl = review_summaries(items, *WINDOW, policy(60), ri)
    figures = bill(tl, span)
    invoice = issued(
        1,
        "acme",
        *span,
        figures,
        created=before[-1].created_at + timedelta(seconds=1) if before else None,
    )
    invoice = msgspec.structs.replace(
        invoice, created_at=at(-10_000) if not before else invoice.created_at
    )
    stamp = invoice.created_at + timedelta(minutes=1)
    later = [msgspec.structs.replace(a, created_at=stamp) for a in later]
    changed = inputs(rules=rules, adjustments=[*before, *later], invoices=[invoice])
    after = review_summaries(items, *WINDOW, policy(60), changed)
    again = bill(after, span)
    assert msgspec.json.encode(again) == msgspec.json.encode(figures)
    assert [p.invoice_id for p in after.locked] == ["inv0001"]
