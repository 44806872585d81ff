"""A data root with hand-written evidence, review settings and journals for report tests.

Evidence lines are real ledger lines (``wrap_summary``); the config is the TOML Operations
would write; journal entries are appended by Operations' own ``ReviewJournal``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec

from mimolo.dataroot import DataRoot
from mimolo.operations.review_checks import AdjustmentDraft
from mimolo.operations.review_journal import ReviewJournal
from mimolo.protocol.evidence import wrap_summary
from mimolo.protocol.review import Adjustment, Assignment, ReviewSettings


def ledger_line(
    instance: str, start: datetime, end: datetime, client: str | None, seq: int
) -> bytes:
    """One ledger line (exactly ``wrap_summary``) around an active keep-alive summary."""
    data: dict[str, Any] = {
        "activity_signal": {"mode": "active", "keep_alive": True, "reason": "test"},
        "window": {"start": start, "end": end},
    }
    if client is not None:
        data["client_id"] = client
    summary = {
        "type": "summary", "timestamp": end, "agent_id": instance, "agent_label": instance,
        "agent_version": "1.0.0", "protocol_version": "0.4", "data": data,
    }  # fmt: skip
    return wrap_summary(
        seq=seq, record_id=f"r{seq}", received_at=end, plugin_id="test_plugin",
        instance_id=instance, instance_label=instance, host="test-host",
        raw_summary=msgspec.json.encode(summary),
    )  # fmt: skip


def write_evidence(
    root: DataRoot, spans: Iterable[tuple[str, datetime, datetime, str | None]]
) -> None:
    """``(instance, start, end, client)`` active keep-alive summaries, in their UTC days."""
    by_day: dict[date, list[bytes]] = {}
    for seq, (instance, start, end, client) in enumerate(sorted(spans, key=lambda s: s[1]), 1):
        line = ledger_line(instance, start, end, client, seq)
        by_day.setdefault(end.astimezone(UTC).date(), []).append(line)
    for day, lines in by_day.items():
        path = root.evidence_file(day)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.write_bytes(b"".join(lines))


def work(
    instance: str,
    start: datetime,
    minutes: float,
    client: str | None = "acme",
    step_min: float = 5.0,
) -> list[tuple[str, datetime, datetime, str | None]]:
    """Continuous activity from ``start`` for ``minutes`` in ``step_min`` summaries."""
    out = []
    t = 0.0
    while t < minutes:
        a = start + timedelta(minutes=t)
        b = start + timedelta(minutes=min(minutes, t + step_min))
        out.append((instance, a, b, client))
        t += step_min
    return out  # fmt: skip


def write_config(root: DataRoot, toml: str) -> None:
    root.config_path.parent.mkdir(parents=True, exist_ok=True)
    root.config_path.write_text(toml, encoding="utf-8")
    os.chmod(root.config_path, 0o600)


def add_adjustment(
    root: DataRoot,
    kind: str,
    start: datetime,
    end: datetime,
    *,
    client: str | None = None,
    project: str | None = None,
    settings: ReviewSettings | None = None,
) -> Adjustment:
    """Append an adjustment the way Operations does (its checks included)."""
    journal = ReviewJournal(root)
    draft = AdjustmentDraft(
        kind=kind,  # type: ignore[arg-type]
        reason="test",
        start=start,
        end=end,
        assign=Assignment(client_id=client, project=project),
    )
    return journal.add_adjustment(
        draft,
        author="tester",
        settings=settings or ReviewSettings(),
        is_known_client=lambda c: True,
    )
