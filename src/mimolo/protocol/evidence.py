"""The evidence ledger's line format (DESIGN §5).

Operations writes one ``EvidenceRecord`` per summary, the agent's message kept byte for
byte in ``record``. Every reader (the timeline, Control's evidence viewer) decodes a line
into the one view, ``EvidenceView``, which takes only what readers use: msgspec skips the
rest without building it, and ``gc=False`` keeps millions of views off the GC's books.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from mimolo.protocol.messages import ActivityMode


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


class SignalView(msgspec.Struct, frozen=True, gc=False):
    """``data.activity_signal``: the only input to work-time derivation."""

    mode: ActivityMode
    keep_alive: bool | None = None


class SummaryWindow(msgspec.Struct, frozen=True, gc=False):
    start: datetime
    end: datetime


class SummaryDataView(msgspec.Struct, frozen=True, gc=False):
    """The parts of ``summary.data`` that readers use."""

    activity_signal: SignalView | None = None
    window: SummaryWindow | None = None
    client_id: str | None = None


class SummaryView(msgspec.Struct, frozen=True, gc=False):
    type: str
    timestamp: datetime
    data: SummaryDataView = SummaryDataView()


class EvidenceView(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """A ledger line as every reader sees it."""

    seq: int
    received_at: datetime
    plugin_id: str
    instance_id: str
    instance_label: str = ""
    record: SummaryView


class ApplicationTime(msgspec.Struct, frozen=True, gc=False):
    """One entry of ``data.applications`` (desktop_activity): an application's seconds."""

    application: str
    seconds: float


class ApplicationsDataView(msgspec.Struct, frozen=True, gc=False):
    """``data`` of a summary that reports time per application (window, list, remainder)."""

    window: SummaryWindow | None = None
    state: str | None = None
    applications: list[ApplicationTime] = []
    other_s: float = 0.0


class ApplicationsSummaryView(msgspec.Struct, frozen=True, gc=False):
    type: str
    timestamp: datetime
    data: ApplicationsDataView = ApplicationsDataView()


class ApplicationsView(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """A ledger line as the application lanes read it: a view of its own, so readers that
    do not need ``data.applications`` never decode it."""

    plugin_id: str
    instance_id: str
    record: ApplicationsSummaryView


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
    """A decoder of ledger lines into ``EvidenceView`` (one per reader: they are cheap)."""
    return msgspec.json.Decoder(EvidenceView)


def applications_decoder() -> msgspec.json.Decoder[ApplicationsView]:
    """A decoder of ledger lines into ``ApplicationsView`` (application lanes)."""
    return msgspec.json.Decoder(ApplicationsView)


def summary_data(raw: dict[str, Any]) -> SummaryDataView:
    """Convert a decoded ``data`` dict into the view (for in-memory producers)."""
    return msgspec.convert(raw, SummaryDataView)


__all__ = [
    "ApplicationTime",
    "ApplicationsDataView",
    "ApplicationsSummaryView",
    "ApplicationsView",
    "EvidenceRecord",
    "EvidenceView",
    "SignalView",
    "SummaryDataView",
    "SummaryView",
    "SummaryWindow",
    "applications_decoder",
    "summary_data",
    "view_decoder",
    "wrap_summary",
]
