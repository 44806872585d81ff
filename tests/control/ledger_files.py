"""Writing real ledger files (``wrap_summary`` lines) for Control tests."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from mimolo.dataroot import DataRoot
from mimolo.protocol.evidence import wrap_summary


def summary_line(
    seq: int,
    start: datetime,
    *,
    instance_id: str = "folders-acme",
    plugin_id: str = "client_folder_activity",
    mode: str = "active",
    keep_alive: bool | None = True,
    client_id: str | None = "acme",
    length_s: int = 60,
    extra: dict[str, Any] | None = None,
) -> bytes:
    """One ledger line around a summary covering ``[start, start + length_s]``."""
    end = start + timedelta(seconds=length_s)
    data: dict[str, Any] = {
        "activity_signal": {"mode": mode, "keep_alive": keep_alive, "reason": "test"},
        "window": {"start": start.isoformat(), "end": end.isoformat()},
        **(extra or {}),
    }
    if client_id is not None:
        data["client_id"] = client_id
    summary = {
        "type": "summary",
        "timestamp": end.isoformat(),
        "agent_id": instance_id,
        "agent_label": instance_id,
        "agent_version": "0.1.0",
        "protocol_version": "0.4",
        "data": data,
    }
    return wrap_summary(
        seq=seq,
        record_id=f"rec-{seq}",
        received_at=end,
        plugin_id=plugin_id,
        instance_id=instance_id,
        instance_label=instance_id,
        host="test-host",
        raw_summary=json.dumps(summary).encode(),
    )


def write_ledger(root: DataRoot, day: datetime, lines: list[bytes]) -> None:
    """Append ``lines`` to the ledger file of ``day`` (0600)."""
    path = root.evidence_file(day.date())
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(path, "ab") as handle:
        for line in lines:
            handle.write(line)
    path.chmod(0o600)
