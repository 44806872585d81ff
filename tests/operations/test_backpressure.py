"""Budgets per agent: every type counted, summaries never starved by chatter, exact drops."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mimolo.operations.backpressure import AgentBudget
from mimolo.protocol.config_schema import Settings


def test_chatter_of_any_kind_shares_one_bucket() -> None:
    budget = AgentBudget(Settings(rate_limit_per_s=1.0, rate_limit_burst=3), now=0.0)
    kinds = ["ack", "log", "heartbeat", "status", "widget_frame"]
    admitted = [budget.admit(k, 0.0) for k in kinds]
    assert admitted == [True, True, True, False, False]
    assert dict(budget.drops) == {"status": 1, "widget_frame": 1}
    assert budget.admit("ack", 1.0)  # one token back after a second


def test_summaries_are_not_starved_by_chatter() -> None:
    budget = AgentBudget(Settings(rate_limit_per_s=0.1, rate_limit_burst=1), now=0.0)
    for _ in range(100):
        budget.admit("log", 0.0)
    assert budget.admit_summary(100, 0.0)


def test_evidence_bytes_are_capped_but_one_largest_line_always_fits() -> None:
    s = Settings(
        summary_rate_limit_per_s=0,
        evidence_bytes_per_s=1000,
        evidence_bytes_burst=10,  # smaller than a line: raised to max_line_bytes
        max_line_bytes=5000,
    )
    budget = AgentBudget(s, now=0.0)
    assert budget.admit_summary(5000, 0.0)
    assert not budget.admit_summary(10, 0.0)
    assert budget.drops["summary_bytes"] == 1
    assert budget.admit_summary(2000, 2.0)


@settings(max_examples=200)
@given(
    events=st.lists(
        st.tuples(st.sampled_from(["summary", "log", "ack"]), st.floats(0, 0.5)), max_size=300
    )
)
def test_admitted_plus_dropped_is_everything_and_reports_add_up(
    events: list[tuple[str, float]],
) -> None:
    budget = AgentBudget(Settings(), now=0.0)
    now = 0.0
    admitted = 0
    reported = 0
    for kind, step in events:
        now += step
        ok = budget.admit_summary(200, now) if kind == "summary" else budget.admit(kind, now)
        admitted += ok
        report = budget.take_report(now)
        reported += sum(report.values()) if report else 0
    final = budget.take_all(now)
    reported += sum(final.values()) if final else 0
    assert admitted + budget.total == len(events)
    assert reported == budget.total
    assert budget.unreported == 0


def test_reset_refills_the_buckets_and_keeps_the_counts() -> None:
    budget = AgentBudget(Settings(rate_limit_per_s=0.001, rate_limit_burst=1), now=0.0)
    budget.admit("log", 0.0)
    assert not budget.admit("log", 0.0)
    budget.reset(Settings(rate_limit_per_s=0.001, rate_limit_burst=1), now=0.0)
    assert budget.admit("log", 0.0)
    assert budget.total == 1
