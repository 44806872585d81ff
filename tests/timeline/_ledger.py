"""Writing real ledger lines (exactly ``wrap_summary``) for reader tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec

from mimolo.protocol.evidence import wrap_summary


def ledger_line(
    instance: str,
    start: datetime,
    end: datetime,
    *,
    mode: str = "active",
    keep_alive: bool | None = True,
    client: str | None = None,
    seq: int = 1,
) -> bytes:
    """One ledger line around a summary with the given window and signal."""
    data: dict[str, Any] = {
        "activity_signal": {"mode": mode, "keep_alive": keep_alive, "reason": "test"},
        "window": {"start": start, "end": end},
    }
    if client is not None:
        data["client_id"] = client
    summary = {
        "type": "summary",
        "timestamp": end,
        "agent_id": instance,
        "agent_label": instance,
        "agent_version": "1.0.0",
        "protocol_version": "0.4",
        "data": data,
    }
    return wrap_summary(
        seq=seq,
        record_id=f"r{seq}",
        received_at=end if end.tzinfo else end.replace(tzinfo=UTC),
        plugin_id="test_plugin",
        instance_id=instance,
        instance_label=instance,
        host="test-host",
        raw_summary=msgspec.json.encode(summary),
    )
