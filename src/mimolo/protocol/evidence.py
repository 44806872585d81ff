"""The evidence ledger's line format (DESIGN §5).

Operations writes one ``EvidenceRecord`` per summary, the agent's message kept byte for
byte in ``record``. Readers decode ``record`` only as far as they need
(``EvidenceView``), so unknown fields never cost a dict walk.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from mimolo.protocol.messages import ActivitySignal


class EvidenceRecord(msgspec.Struct, kw_only=True):
    """What Operations appends: metadata plus the raw summary line."""

    seq: int
    id: str
    received_at: datetime
    plugin_id: str
    instance_id: str
    instance_label: str
    host: str
    record: msgspec.Raw


class SummaryWindow(msgspec.Struct, frozen=True):
    start: datetime
    end: datetime


class SummaryDataView(msgspec.Struct, frozen=True):
    """The parts of ``summary.data`` that timeline derivation reads."""

    activity_signal: ActivitySignal | None = None
    window: SummaryWindow | None = None
    client_id: str | None = None


class SummaryView(msgspec.Struct, frozen=True):
    type: str
    timestamp: datetime
    agent_id: str
    data: SummaryDataView = SummaryDataView()


class EvidenceView(msgspec.Struct, frozen=True):
    """A ledger line as a reader sees it."""

    seq: int
    id: str
    received_at: datetime
    plugin_id: str
    instance_id: str
    instance_label: str
    host: str
    record: SummaryView


def wrap_summary(
    *,
    seq: int,
    record_id: str,
    received_at: datetime,
    plugin_id: str,
    instance_id: str,
    instance_label: str,
    host: str,
    raw_summary: bytes,
) -> bytes:
    """One ledger line (newline-terminated) around an already validated summary line."""
    rec = EvidenceRecord(
        seq=seq,
        id=record_id,
        received_at=received_at,
        plugin_id=plugin_id,
        instance_id=instance_id,
        instance_label=instance_label,
        host=host,
        record=msgspec.Raw(raw_summary.rstrip(b"\r\n")),
    )
    return _encoder.encode(rec) + b"\n"


_encoder = msgspec.json.Encoder()


def view_decoder() -> msgspec.json.Decoder[EvidenceView]:
    return msgspec.json.Decoder(EvidenceView)


def summary_data(raw: dict[str, Any]) -> SummaryDataView:
    """Convert a decoded ``data`` dict into the view (for in-memory producers)."""
    return msgspec.convert(raw, SummaryDataView)


__all__ = [
    "EvidenceRecord",
    "EvidenceView",
    "SummaryDataView",
    "SummaryView",
    "SummaryWindow",
    "summary_data",
    "view_decoder",
    "wrap_summary",
]
