"""The review commands through a real ``mimolo ops`` over demo evidence: rules set and
refused (the config's bytes unchanged), adjustments added, listed and revoked, an invoice
issued with its figures, an adjustment in its period refused, then void, adjust, issue
again under a new number; each accepted mutation leaves an audit record."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec
import pytest

from control._live import OpsProcess, short_data_root, wait_for
from mimolo.dataroot import DataRoot
from mimolo.errors import RemoteError
from mimolo.ipc.client import request_sync
from mimolo.protocol.review import Adjustment, BillingFigures
from mimolo.timeline.billing import identity_holds
from mimolo.timeline.demo import DemoSpec, write_demo
from mimolo.timeline.review_io import read_adjustments, read_invoices

pytestmark = pytest.mark.slow

LAST_DAY = datetime.now(UTC).date() - timedelta(days=20)
FIRST_DAY = LAST_DAY - timedelta(days=4)

CONFIG = """\
# my own notes stay
[settings]
timezone = "Europe/Berlin"

[review]
currency = "EUR"
default_rate = "80"

[review.clients.acme]
rate = "100"
"""


def day_start(day: date, hour: int = 0) -> str:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC).isoformat()


def call(root: DataRoot, cmd: str, **fields: Any) -> dict[str, Any]:
    return request_sync(root.socket_path, cmd, timeout=120.0, **fields)


def refused(root: DataRoot, cmd: str, **fields: Any) -> RemoteError:
    with pytest.raises(RemoteError) as caught:
        call(root, cmd, **fields)
    return caught.value


def audits(root: DataRoot) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for path in sorted(root.diagnostics_dir.glob("*.diagnostics.jsonl")):
        for line in path.read_bytes().splitlines():
            record = msgspec.json.decode(line)
            if record.get("kind") == "audit":
                out.append(record)
    return out


def audited(root: DataRoot, found: Callable[[dict[str, Any]], bool]) -> None:
    """Wait for an audit record (diagnostics are group-committed)."""
    wait_for(lambda: any(found(a) for a in audits(root)), "the audit record")


def review_bytes(root: DataRoot) -> tuple[bytes, bytes]:
    folder = root.operations_dir / "review"
    return tuple(  # type: ignore[return-value]
        (folder / name).read_bytes() if (folder / name).exists() else b""
        for name in ("adjustments.jsonl", "invoices.jsonl")
    )


@pytest.fixture(scope="module")
def ops() -> Iterator[OpsProcess]:
    with short_data_root() as root:
        write_demo(root, DemoSpec(days=5, seed=7, end=LAST_DAY))
        root.config_path.write_text(CONFIG, encoding="utf-8")
        os.chmod(root.config_path, 0o600)
        process = OpsProcess(root)
        try:
            yield process.start()
        finally:
            process.stop()


def test_rules_set_and_refused(ops: OpsProcess) -> None:
    root = ops.root
    assert call(root, "get_rules") == {
        "rules": [],
        "default": {"client_id": None, "project": None, "tags": []},
    }
    before = root.config_path.read_bytes()
    bad = refused(root, "set_rules", rules=[{"rule_id": "a", "match": {"title": "(oops"}}])
    assert (bad.code, bad.field) == ("rules_invalid", "review.rules[0].match.title")
    twice = refused(root, "set_rules", rules=[{"rule_id": "a"}, {"rule_id": "a"}])
    assert (twice.code, twice.field) == ("rules_invalid", "review.rules[1].rule_id")
    unknown = refused(root, "set_rules", rules=[{"rule_id": "a", "match": {"colour": "x"}}])
    assert unknown.code == "invalid_field"
    assert root.config_path.read_bytes() == before
    rules = [
        {"rule_id": "globex-work", "match": {"client_id": "globex"},
         "assign": {"client_id": "globex", "project": "portal", "tags": ["dev"]}},
        {"rule_id": "mail", "label": "Mail", "enabled": False, "match": {"application": "mutt"}},
    ]  # fmt: skip
    view = call(root, "set_rules", rules=rules, default={"client_id": "acme"}, via="cli")
    assert [r["rule_id"] for r in view["rules"]] == ["globex-work", "mail"]
    assert view["default"]["client_id"] == "acme"
    assert call(root, "get_rules") == view
    text = root.config_path.read_text(encoding="utf-8")
    assert "# my own notes stay" in text and "[[review.rules]]" in text
    audited(
        root,
        lambda a: (
            a.get("action") == "set_rules"
            and a.get("outcome") == "accepted"
            and a.get("via") == "cli"
            and a.get("rule_ids") == ["globex-work", "mail"]
        ),
    )
    audited(root, lambda a: a.get("action") == "set_rules" and a.get("error") == "rules_invalid"
            and a.get("level") == "warning")  # fmt: skip


def test_adjust_issue_lock_void_and_issue_again(ops: OpsProcess) -> None:
    root = ops.root
    day = FIRST_DAY + timedelta(days=1)
    # bad input changes nothing
    before = review_bytes(root)
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"kind": "exclude_range", "start": day_start(day, 12), "end": day_start(day, 11)},
         "adjustment_invalid", "end"),
        ({"kind": "manual_entry", "start": day_start(day, 8), "end": day_start(day, 9),
          "assign": {"client_id": "nobody"}}, "adjustment_invalid", "assign.client_id"),
        ({"kind": "idle_split", "start": day_start(day, 8), "end": day_start(day, 9),
          "split_at": day_start(day, 10)}, "adjustment_invalid", "split_at"),
        ({"kind": "manual_entry", "start": "2026-03-02T08:00:00", "end": day_start(day, 9)},
         "adjustment_invalid", "start"),
    ]  # fmt: skip
    for fields, code, field in cases:
        error = refused(root, "add_adjustment", reason="test", **fields)
        assert (error.code, error.field) == (code, field), fields
    assert refused(root, "add_adjustment", kind="exclude_range").code == "invalid_field"
    assert refused(root, "revoke_adjustment", id="0" * 32, reason="x").code == (
        "adjustment_unknown"
    )
    assert review_bytes(root) == before

    # a client only the evidence names (globex) is known; a manual entry; a revoke
    meeting = call(root, "add_adjustment", kind="manual_entry", start=day_start(day, 6),
                   end=day_start(day, 7), assign={"client_id": "initech"},
                   reason="meeting", via="cli")["adjustment"]  # fmt: skip
    assert meeting["seq"] == 1 and meeting["author"]
    excluded = call(root, "add_adjustment", kind="exclude_range", start=day_start(day, 9),
                    end=day_start(day, 10), reason="private errand")["adjustment"]  # fmt: skip
    undo = call(root, "revoke_adjustment", id=excluded["id"], reason="it was work")
    assert undo["adjustment"]["revokes"] == excluded["id"]
    listed = call(root, "list_adjustments", start=day_start(day), end=day_start(day, 23))
    assert [a["id"] for a in listed["adjustments"]] == [
        meeting["id"], excluded["id"], undo["adjustment"]["id"]
    ]  # fmt: skip
    assert listed["adjustments"][1]["revoked_by"] == undo["adjustment"]["id"]
    assert call(root, "list_adjustments", start=day_start(LAST_DAY + timedelta(days=2)),
                end=day_start(LAST_DAY + timedelta(days=3)))["total"] == 0  # fmt: skip
    assert read_adjustments(root) == [msgspec.convert(a, Adjustment) for a in (
        meeting, excluded, undo["adjustment"])]  # fmt: skip

    # issue an invoice for acme over the five days: figures present, period locked
    start, end = day_start(FIRST_DAY), day_start(LAST_DAY + timedelta(days=1))
    first = call(root, "issue_invoice", client_id="acme", start=start, end=end)["invoice"]
    year = datetime.fromisoformat(first["created_at"]).year
    assert first["number"] == f"{year}-0001"
    figures = first["figures"]
    assert figures["recorded_active_s"] > 0 and figures["rate"] == "100"
    assert figures["currency"] == "EUR" and figures["amount"] != "0"
    assert identity_holds(msgspec.convert(figures, BillingFigures))
    assert len(first["inputs_hash"]) == 64 and first["timezone"] == "Europe/Berlin"
    before = review_bytes(root)
    locked = refused(root, "add_adjustment", kind="exclude_range", start=day_start(day, 12),
                     end=day_start(day, 13), reason="not billable")  # fmt: skip
    assert locked.code == "period_locked" and first["number"] in locked.message
    again = refused(root, "issue_invoice", client_id="acme", start=start, end=end)
    assert again.code == "period_locked"
    assert refused(root, "issue_invoice", client_id="nobody", start=start, end=end).code == (
        "invoice_invalid"
    )
    assert refused(root, "void_invoice", id="0" * 32, reason="x").code == "invoice_unknown"
    assert review_bytes(root) == before

    # void, adjust (accepted now), issue again: a new number, the old one stays used
    call(root, "void_invoice", id=first["id"], reason="forgot the errand", via="cli")
    call(root, "add_adjustment", kind="exclude_range", start=day_start(day, 12),
         end=day_start(day, 13), reason="not billable")  # fmt: skip
    second = call(root, "issue_invoice", client_id="acme", start=start, end=end)["invoice"]
    assert second["number"] == f"{year}-0002"
    assert second["figures"]["excluded_s"] >= first["figures"]["excluded_s"]
    invoices = call(root, "list_invoices", year=year)["invoices"]
    assert [(i["number"], i["voided_by"] is not None) for i in invoices] == [
        (f"{year}-0001", True), (f"{year}-0002", False)
    ]  # fmt: skip
    assert [e.kind for e in read_invoices(root)] == ["issued", "voided", "issued"]
    for action in ("add_adjustment", "revoke_adjustment", "issue_invoice", "void_invoice"):
        audited(root, lambda a, action=action: (a.get("action"), a.get("outcome")) == (  # type: ignore[misc]
            action, "accepted"))  # fmt: skip
    audited(root, lambda a: a.get("action") == "add_adjustment" and a.get("error") == (
        "period_locked"))  # fmt: skip
