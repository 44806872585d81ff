"""The review panel's rows: adjustments in force or revoked (and locked), segments naming
what produced them, idle gaps with their decision, the known clients and projects; and
the rules editor's body with its refusals named by row and key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from mimolo.control.review_view import (
    adjustment_rows,
    gap_rows,
    known_clients,
    known_projects,
    lock_rows,
    segment_rows,
)
from mimolo.control.rules_editor import parse_default, parse_rules, rules_payload
from mimolo.errors import RulesInvalid
from mimolo.protocol.review import (
    Adjustment,
    Assignment,
    ClientBilling,
    ReviewSettings,
    Rule,
)
from mimolo.timeline.reviewed import IdleGap, LockedPeriod, ReviewedSegment

BERLIN = ZoneInfo("Europe/Berlin")
T0 = datetime(2026, 7, 1, 7, 0, tzinfo=UTC)  # 09:00 in Berlin


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def adjustment(seq: int, kind: str, start: int, end: int, **kw: object) -> Adjustment:
    return Adjustment(
        id=f"a{seq}", seq=seq, kind=kind, reason=f"why {seq}", author="me",  # type: ignore[arg-type]
        created_at=at(600), start=at(start), end=at(end), **kw,  # type: ignore[arg-type]
    )  # fmt: skip


LOCK = LockedPeriod(
    invoice_id="inv1",
    number="2026-0003",
    client_id="acme",
    project=None,
    start=at(120),
    end=at(240),
)


def test_adjustments_in_force_revoked_and_locked() -> None:
    assign = adjustment(
        1,
        "assign_range",
        0,
        30,
        assign=Assignment(client_id="globex", project="site", tags=("call",)),
    )
    locked = adjustment(2, "exclude_range", 150, 160)
    outside = adjustment(3, "exclude_range", 2000, 2010)
    revoke = Adjustment(
        id="a4", seq=4, kind="revoke", reason="wrong", author="me", created_at=at(700), revokes="a1"
    )
    rows = adjustment_rows([assign, locked, outside, revoke], at(0), at(24 * 60), [LOCK], BERLIN)
    assert [r.id for r in rows] == ["a2", "a1"]  # newest first, the revoke itself not listed
    assert rows[0].locked_by == "2026-0003" and rows[0].revoked_by is None
    assert rows[1].revoked_by == "a4" and rows[1].revoke_reason == "wrong"
    assert rows[1].assign == "globex / site #call"
    assert rows[1].start == "2026-07-01 09:00" and rows[1].label == "Assigned"


def test_segment_rows_name_their_records_rules_adjustments_and_lock() -> None:
    segment = ReviewedSegment(
        start=at(0), end=at(30), duration_s=1800, instances=["desk"], client_ids=["acme"],
        summary_count=9, client_id="globex", project="site", tags=["call"],
        rule_ids=["r1"], adjustment_ids=["a1"], locked_by="inv1", summary_seqs=list(range(1, 10)),
    )  # fmt: skip
    [row] = segment_rows([segment], [adjustment(1, "assign_range", 0, 30)], [LOCK], BERLIN)
    assert row.client_id == "globex" and row.project == "site" and row.tags == ["call"]
    assert row.rule_ids == ["r1"]
    assert [(a.id, a.label) for a in row.adjustments] == [("a1", "Assigned")]
    assert row.locked_by == "2026-0003"
    assert row.seqs == [1, 2, 3, 4, 5, 6] and row.seq_count == 9


def test_gaps_carry_their_decision_and_a_split_inside() -> None:
    gaps = [IdleGap(start=at(30), end=at(90), decided_by="a5"), IdleGap(start=at(150), end=at(200))]
    rows = gap_rows(gaps, [adjustment(5, "idle_keep", 30, 90)], [LOCK], BERLIN)
    assert rows[0].decision == "idle_keep" and rows[0].locked_by is None
    assert rows[0].split_default == "2026-07-01T10:00"
    assert (rows[0].split_min, rows[0].split_max) == ("2026-07-01T09:30", "2026-07-01T10:30")
    assert rows[1].decision is None and rows[1].locked_by == "2026-0003"
    [lock] = lock_rows([LOCK], BERLIN)
    assert lock.start == "2026-07-01 11:00" and lock.start_utc == at(120).isoformat()


def test_known_clients_and_projects() -> None:
    settings = ReviewSettings(
        clients={"acme": ClientBilling(projects={"site": "120"})},
        rules=(Rule(rule_id="r", assign=Assignment(client_id="initech", project="audit")),),
        default=Assignment(client_id="house"),
    )
    assert known_clients(settings, ["globex", "unassigned", "Bad Name"], ["hooli"]) == [
        "acme", "globex", "hooli", "house", "initech", "unassigned",
    ]  # fmt: skip
    assert known_projects(settings, ["site", "misc"]) == ["audit", "misc", "site"]


def test_the_editor_body_is_checked_with_the_field_at_fault() -> None:
    rules = parse_rules('[{"rule_id": "a", "match": {"title": "^Figma"}}, {"rule_id": "b"}]')
    assert [r.rule_id for r in rules] == ["a", "b"]
    assert parse_default('{"client_id": "acme"}') == Assignment(client_id="acme")
    payload = rules_payload(rules, Assignment())
    assert payload["rules"][0]["match"]["title"] == "^Figma"
    cases = {
        '[{"rule_id": "a", "match": {"title": "("}}]': "rules[0].match.title",
        '[{"rule_id": "a"}, {"rule_id": "a"}]': "rules[1].rule_id",
        '[{"rule_id": "a"}, {"rule_id": "b", "match": {"mode": "sleepy"}}]': "rules[1].match.mode",
        '[{"rule_id": 3}]': "rules[0].rule_id",
        "not json": "rules",
    }
    for text, field in cases.items():
        with pytest.raises(RulesInvalid) as caught:
            parse_rules(text)
        assert caught.value.field == field, text
    with pytest.raises(RulesInvalid) as caught:
        parse_default('{"client": 1}')
    assert caught.value.field == "default"
