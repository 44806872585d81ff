"""What ``mimolo status`` adds to its header: live-only figures, or why the live answer failed.

``get_status`` knows things the snapshot does not (the running total of dropped
diagnostics records, the containment mode); when it cannot be had (busy, refused, too
large, timed out) the status falls back to the snapshot and this says why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
from rich.markup import escape

from mimolo.cli.ipc_call import LiveStatus
from mimolo.operations.snapshot import StatusView

LiveViewBuilder = Callable[[dict[str, Any], list[Any]], StatusView]


@dataclass(frozen=True)
class StatusHeader:
    """The extra header figures of one ``mimolo status`` run."""

    diagnostics_dropped: int | None = None
    containment: str = "unknown"
    live_error: str | None = None
    sync: dict[str, Any] | None = None  # get_status's ``sync`` when the [sync] service runs

    @classmethod
    def resolve(
        cls, view: StatusView, live: LiveStatus, build: LiveViewBuilder
    ) -> tuple[StatusView, StatusHeader]:
        """The live view and its figures, or ``view`` unchanged and the reason why not."""
        if live.status is None or live.agents is None:
            return view, cls(live_error=live.error or "no answer")
        try:
            built = build(live.status, live.agents)
        except (KeyError, TypeError, ValueError, msgspec.ValidationError) as exc:
            return view, cls(live_error=f"the live answer could not be read ({exc})")
        dropped = live.status.get("diagnostics_dropped")
        containment = live.status.get("containment")
        sync = live.status.get("sync")
        return built, cls(
            sync=sync if isinstance(sync, dict) and sync.get("enabled") else None,
            diagnostics_dropped=dropped
            if isinstance(dropped, int) and not isinstance(dropped, bool)
            else None,
            containment=containment if isinstance(containment, str) and containment else "unknown",
        )

    def figures(self) -> str:
        """``diagnostics dropped N, containment MODE`` (rich markup, values escaped)."""
        dropped = "-" if self.diagnostics_dropped is None else str(self.diagnostics_dropped)
        return f"diagnostics dropped {dropped}, containment {escape(self.containment)}"

    def sync_line(self) -> str | None:
        """The team store shipper in one line (lag, last error), when it runs."""
        if self.sync is None:
            return None
        s = self.sync
        line = (
            f"team sync {escape(str(s.get('state')))} to {escape(str(s.get('target')))}: "
            f"store at seq {s.get('acked_seq')} of {s.get('local_seq')}, "
            f"lag {s.get('lag_records')} record(s) / {s.get('lag_s')} s"
        )
        error = s.get("last_error")
        if isinstance(error, dict):
            line += (
                f"; [yellow]last error {escape(str(error.get('code')))}[/yellow]: "
                f"{escape(str(error.get('message')))}"
            )
        return line

    def unavailable_line(self, written_at: datetime | None) -> str:
        """One line: the live answer failed, why, and what is shown instead."""
        shown = (
            f"showing the snapshot of {written_at:%Y-%m-%d %H:%M:%S} UTC"
            if written_at is not None
            else "no snapshot to show"
        )
        reason = escape(self.live_error or "no answer")
        return f"[yellow]live answer unavailable[/yellow] ({reason}); {shown}"

    def as_json(self) -> dict[str, Any]:
        """The figures for ``mimolo status --json``."""
        return {
            "diagnostics_dropped": self.diagnostics_dropped,
            "containment": self.containment,
            "live_error": self.live_error,
            "sync": self.sync,
        }


__all__ = ["LiveViewBuilder", "StatusHeader"]
