"""The review journal: append-only adjustments and invoice entries, checked against the
journal's state; a refused request leaves both files' bytes exactly as they were."""

from __future__ import annotations

import itertools
import stat
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec
import pytest

from mimolo.dataroot import DataRoot
from mimolo.errors import MimoloError, ReviewError
from mimolo.operations.review_checks import AdjustmentDraft, InvoiceDraft, next_number
from mimolo.operations.review_journal import ReviewJournal
from mimolo.protocol.review import (
    Adjustment,
    Assignment,
    BillingFigures,
    ClientBilling,
    InvoiceEntry,
    ReviewSettings,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SETTINGS = ReviewSettings(
    clients={"acme": ClientBilling(rate="100"), "beta": ClientBilling()},
    default=Assignment(client_id="acme"),
)
UTC_ZONE = ZoneInfo("UTC")


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def figures(billable_s: float = 3600.0) -> BillingFigures:
    return BillingFigures(
        recorded_active_s=billable_s,
        idle_removed_s=0.0,
        idle_kept_s=0.0,
        manual_added_s=0.0,
        excluded_s=0.0,
        rounding_delta_s=0.0,
        billable_s=billable_s,
        hours="1.00",
        rate="100",
        currency="EUR",
        amount="100.00",
        rounding="none",
        rounding_minutes=6,
    )


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def counter() -> Callable[[], str]:
    ids = itertools.count(1)
    return lambda: f"{next(ids):032x}"


@pytest.fixture
def root(tmp_path: Path) -> DataRoot:
    return DataRoot.resolve(tmp_path / "root").ensure()


@pytest.fixture
def journal(root: DataRoot) -> ReviewJournal:
    return ReviewJournal(root, clock=Clock(), new_id=counter())


def known(client_id: str) -> bool:
    return client_id in {"acme", "beta"}


def add(journal: ReviewJournal, **fields: object) -> Adjustment:
    draft = msgspec.convert({"reason": "because", **fields}, AdjustmentDraft)
    return journal.add_adjustment(draft, author="me", settings=SETTINGS, is_known_client=known)


def issue(journal: ReviewJournal, client: str = "acme", start: float = 0, end: float = 24,
          project: str | None = None) -> InvoiceEntry:  # fmt: skip
    draft = InvoiceDraft(
        client_id=client, project=project, start=h(start), end=h(end),
        rate=Decimal("100"), currency="EUR",
    )  # fmt: skip
    return journal.issue_invoice(
        draft,
        figures=figures(),
        inputs_hash="ab" * 32,
        timezone="UTC",
        zone=UTC_ZONE,
        author="me",
        number_format="{year}-{seq:04d}",
    )


def snapshot(journal: ReviewJournal) -> tuple[bytes, bytes]:
    def read(path: Path) -> bytes:
        return path.read_bytes() if path.exists() else b""

    return read(journal.adjustments_path), read(journal.invoices_path)


def test_an_adjustment_is_appended_private_and_read_back(root: DataRoot) -> None:
    journal = ReviewJournal(root, clock=Clock(), new_id=counter())
    assign = {"client_id": "beta", "project": "site"}
    entry = add(journal, kind="manual_entry", start=h(1), end=h(2), assign=assign,
                reason="  call with Bob ")  # fmt: skip
    assert entry.seq == 1
    assert entry.id == f"{1:032x}"
    assert entry.reason == "call with Bob"
    assert entry.author == "me"
    assert entry.created_at == T0
    path = journal.adjustments_path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert path.read_bytes().count(b"\n") == 1
    again = ReviewJournal(root, new_id=counter())
    assert list(again.adjustments) == [entry]
    second = add(again, kind="exclude_range", start=h(3), end=h(4))
    assert second.seq == 2


def test_times_are_stored_in_utc(journal: ReviewJournal) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    entry = add(journal, kind="assign_range", start=h(1).astimezone(berlin),
                end=h(2).astimezone(berlin), assign={"client_id": "beta"})  # fmt: skip
    assert entry.start is not None and entry.start.utcoffset() == timedelta(0)
    assert b'"start":"2026-03-02T10:00:00Z"' in journal.adjustments_path.read_bytes()


BAD_ADJUSTMENTS: list[tuple[dict[str, object], str, str]] = [
    ({"kind": "manual_entry", "start": h(2), "end": h(1)}, "adjustment_invalid", "end"),
    ({"kind": "exclude_range", "start": h(2), "end": h(2)}, "adjustment_invalid", "end"),
    ({"kind": "exclude_range", "start": h(2)}, "adjustment_invalid", "end"),
    ({"kind": "idle_keep", "end": h(2)}, "adjustment_invalid", "start"),
    ({"kind": "idle_split", "start": h(1), "end": h(2)}, "adjustment_invalid", "split_at"),
    ({"kind": "idle_split", "start": h(1), "end": h(2), "split_at": h(3)},
     "adjustment_invalid", "split_at"),
    ({"kind": "idle_split", "start": h(1), "end": h(2), "split_at": h(1)},
     "adjustment_invalid", "split_at"),
    ({"kind": "idle_keep", "start": h(1), "end": h(2), "split_at": h(1.5)},
     "adjustment_invalid", "split_at"),
    ({"kind": "manual_entry", "start": h(1), "end": h(2), "assign": {"client_id": "nobody"}},
     "adjustment_invalid", "assign.client_id"),
    ({"kind": "manual_entry", "start": h(1), "end": h(2), "assign": {"client_id": "No Slug"}},
     "adjustment_invalid", "assign.client_id"),
    ({"kind": "exclude_range", "start": h(1), "end": h(2), "assign": {"client_id": "acme"}},
     "adjustment_invalid", "assign"),
    ({"kind": "assign_range", "start": h(1), "end": h(2)}, "adjustment_invalid", "assign"),
    ({"kind": "manual_entry", "start": h(1), "end": h(2), "reason": "  "},
     "adjustment_invalid", "reason"),
    ({"kind": "manual_entry", "start": h(1), "end": h(2), "reason": "x" * 501},
     "adjustment_invalid", "reason"),
    ({"kind": "manual_entry", "start": h(1).replace(tzinfo=None), "end": h(2)},
     "adjustment_invalid", "start"),
    ({"kind": "revoke", "start": h(1), "end": h(2)}, "adjustment_invalid", "kind"),
    # overlapping its own kind: manual entries, idle decisions (one exists at 10..12 h each)
    ({"kind": "manual_entry", "start": h(11), "end": h(13)}, "adjustment_invalid", "start"),
    ({"kind": "idle_discard", "start": h(21), "end": h(21.5)}, "adjustment_invalid", "start"),
]  # fmt: skip


@pytest.mark.parametrize(("fields", "code", "field"), BAD_ADJUSTMENTS)
def test_bad_adjustments_are_refused_and_change_nothing(
    journal: ReviewJournal, fields: dict[str, object], code: str, field: str
) -> None:
    add(journal, kind="manual_entry", start=h(10), end=h(12))
    add(journal, kind="idle_keep", start=h(20), end=h(22))
    before = snapshot(journal)
    with pytest.raises(MimoloError) as caught:
        add(journal, **fields)
    assert (caught.value.code, caught.value.field) == (code, field)
    assert snapshot(journal) == before
    assert len(journal.adjustments) == 2


def test_overlaps_of_other_kinds_are_allowed(journal: ReviewJournal) -> None:
    add(journal, kind="manual_entry", start=h(10), end=h(12))
    add(journal, kind="assign_range", start=h(9), end=h(13), assign={"tags": ["meeting"]})
    add(journal, kind="exclude_range", start=h(11), end=h(11.5))
    add(journal, kind="idle_split", start=h(10), end=h(11), split_at=h(10.25))
    assert [a.seq for a in journal.adjustments] == [1, 2, 3, 4]


def test_revoke_unknown_twice_and_of_a_revoke(journal: ReviewJournal) -> None:
    entry = add(journal, kind="manual_entry", start=h(10), end=h(12))
    with pytest.raises(MimoloError) as unknown:
        journal.revoke_adjustment("f" * 32, "oops", author="me", settings=SETTINGS)
    assert unknown.value.code == "adjustment_unknown"
    revoke = journal.revoke_adjustment(entry.id, "double booked", author="me", settings=SETTINGS)
    assert (revoke.kind, revoke.revokes, revoke.seq) == ("revoke", entry.id, 2)
    assert revoke.start is None
    before = snapshot(journal)
    for target, why in ((entry.id, "already revoked"), (revoke.id, "cannot be revoked")):
        with pytest.raises(MimoloError) as caught:
            journal.revoke_adjustment(target, "again", author="me", settings=SETTINGS)
        assert caught.value.code == "adjustment_invalid"
        assert why in caught.value.message
    with pytest.raises(MimoloError) as no_reason:
        journal.revoke_adjustment(entry.id, "", author="me", settings=SETTINGS)
    assert no_reason.value.code == "adjustment_invalid"
    assert snapshot(journal) == before
    # the range is free again once its entry is revoked
    add(journal, kind="manual_entry", start=h(11), end=h(12))


def test_an_invoice_locks_its_period_until_voided(journal: ReviewJournal) -> None:
    inside = add(journal, kind="exclude_range", start=h(30), end=h(31))
    first = issue(journal, "acme", 24, 48)
    assert (first.number, first.year, first.seq, first.kind) == ("2026-0001", 2026, 1, "issued")
    assert first.figures == figures()
    before = snapshot(journal)
    refused: list[dict[str, object]] = [
        {"kind": "exclude_range", "start": h(47), "end": h(49)},
        {"kind": "assign_range", "start": h(20), "end": h(25), "assign": {"client_id": "beta"}},
        {"kind": "idle_keep", "start": h(30), "end": h(30.5)},
        {"kind": "manual_entry", "start": h(30), "end": h(31), "assign": {"client_id": "acme"}},
        {"kind": "manual_entry", "start": h(30), "end": h(31)},  # the default client: acme
    ]
    for fields in refused:
        with pytest.raises(MimoloError) as caught:
            add(journal, **fields)
        assert caught.value.code == "period_locked"
        assert "2026-0001" in caught.value.message
    with pytest.raises(MimoloError) as revoke:
        journal.revoke_adjustment(inside.id, "no", author="me", settings=SETTINGS)
    assert revoke.value.code == "period_locked"
    with pytest.raises(MimoloError) as twice:
        issue(journal, "acme", 40, 50)
    assert twice.value.code == "period_locked"
    assert snapshot(journal) == before
    # another client's manual entry and time outside the period are not locked
    add(journal, kind="manual_entry", start=h(30), end=h(31), assign={"client_id": "beta"})
    add(journal, kind="exclude_range", start=h(48), end=h(49))
    issue(journal, "beta", 0, 24)
    voided = journal.void_invoice(first.id, "wrong rate", author="me")
    assert (voided.kind, voided.voids, voided.number) == ("voided", first.id, "2026-0001")
    add(journal, kind="exclude_range", start=h(47), end=h(49))
    again = issue(journal, "acme", 24, 48)
    assert again.number == "2026-0003"  # numbers are never reused, also after a void
    with pytest.raises(MimoloError) as void_twice:
        journal.void_invoice(first.id, "again", author="me")
    assert void_twice.value.code == "invoice_invalid"
    with pytest.raises(MimoloError) as void_unknown:
        journal.void_invoice(voided.id, "a void is no invoice", author="me")
    assert void_unknown.value.code == "invoice_unknown"


def test_project_scoped_locks(journal: ReviewJournal) -> None:
    issue(journal, "acme", 0, 24, project="site")
    issue(journal, "acme", 0, 24, project="app")  # another project of the client: free
    with pytest.raises(MimoloError) as whole:
        issue(journal, "acme", 0, 24)  # the whole client overlaps both
    assert whole.value.code == "period_locked"
    add(journal, kind="manual_entry", start=h(1), end=h(2),
        assign={"client_id": "acme", "project": "other"})  # fmt: skip
    with pytest.raises(MimoloError) as same:
        add(journal, kind="manual_entry", start=h(3), end=h(4),
            assign={"client_id": "acme", "project": "site"})  # fmt: skip
    assert same.value.code == "period_locked"


def test_numbers_follow_the_year_in_the_zone(root: DataRoot) -> None:
    clock = Clock(datetime(2026, 12, 31, 12, 0, tzinfo=UTC))  # already 2027 in Auckland
    journal = ReviewJournal(root, clock=clock, new_id=counter())
    draft = InvoiceDraft(client_id="acme", project=None, start=h(0), end=h(1),
                         rate=Decimal("1"), currency="EUR")  # fmt: skip
    entry = journal.issue_invoice(
        draft, figures=figures(), inputs_hash="", timezone="Pacific/Auckland",
        zone=ZoneInfo("Pacific/Auckland"), author="me", number_format="INV-{year}-{seq}",
    )  # fmt: skip
    assert (entry.number, entry.year) == ("INV-2027-1", 2027)


def test_a_changed_format_never_gives_a_taken_number() -> None:
    taken = [
        InvoiceEntry(id="a", seq=1, kind="issued", author="me", created_at=T0,
                     number="2026-1", year=2026),
        InvoiceEntry(id="b", seq=2, kind="issued", author="me", created_at=T0,
                     number="2026-0002", year=2026),
    ]  # fmt: skip
    assert next_number(taken, 2026, "{year}-{seq:04d}") == ("2026-0003", 3)
    assert next_number(taken[1:], 2026, "{year}-{seq}") == ("2026-2", 2)
    assert next_number(taken, 2027, "{year}-{seq}") == ("2027-1", 1)


def test_a_torn_tail_is_quarantined_on_open(root: DataRoot) -> None:
    journal = ReviewJournal(root, new_id=counter())
    entry = add(journal, kind="exclude_range", start=h(1), end=h(2))
    good = journal.adjustments_path.read_bytes()
    with journal.adjustments_path.open("ab") as fh:
        fh.write(b'{"id":"torn","seq":2,"ki')
    reopened = ReviewJournal(root, new_id=counter())
    assert list(reopened.adjustments) == [entry]
    assert journal.adjustments_path.read_bytes() == good
    quarantine = journal.adjustments_path.with_name("adjustments.quarantine.jsonl")
    assert quarantine.read_bytes() == b'{"id":"torn","seq":2,"ki\n'
    assert add(reopened, kind="exclude_range", start=h(3), end=h(4)).seq == 2


def test_a_bad_line_inside_the_journal_is_an_error(root: DataRoot) -> None:
    journal = ReviewJournal(root, new_id=counter())
    add(journal, kind="exclude_range", start=h(1), end=h(2))
    content = journal.adjustments_path.read_bytes()
    journal.adjustments_path.write_bytes(b'{"not": "an adjustment"}\n' + content)
    with pytest.raises(ReviewError) as caught:
        ReviewJournal(root)
    assert "line 1" in caught.value.message
    assert caught.value.code == "review_error"
