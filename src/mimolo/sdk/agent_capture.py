"""AgentCapture: the off-the-record pause as a capturing agent sees it.

An agent that records what a person does declares ``CAPTURES = True``; the handshake then
advertises ``capture_pause`` and Operations sends it ``pause_capture`` (``args.until``: an
ISO-8601 UTC time or null for "until resumed") and ``resume_capture``. The SDK keeps the
state, acknowledges both commands, ends a pause whose ``until`` has passed on the agent's
own clock, and adds the paused seconds of each summary window as ``data.paused_s``. The
agent reads ``capture_paused`` and records nothing identifying while it is true.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from mimolo.protocol.commands import PauseCaptureCommand, ResumeCaptureCommand
from mimolo.sdk.agent_widgets import AgentWidgets
from mimolo.sdk.clock import Clock, iso


def parse_until(raw: object) -> datetime | None:
    """``args.until`` as an aware UTC datetime (None: until resumed); ValueError if bad."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise ValueError(f"until must be an ISO-8601 time or null, got {type(raw).__name__}")
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"until is not an ISO-8601 time: {raw[:64]!r}") from None
    if moment.tzinfo is None:
        raise ValueError(f"until has no timezone: {raw[:64]!r}")
    return moment.astimezone(UTC)


class AgentCapture(AgentWidgets):
    """Capture-pause state, its commands and hooks; part of ``BaseAgent``."""

    CAPTURES: ClassVar[bool] = False

    def __init__(self, config: dict[str, Any] | None = None, *, clock: Clock | None = None):
        super().__init__(config, clock=clock)
        self._capture_since: datetime | None = None  # start of the paused stretch (window-local)
        self._capture_until: datetime | None = None
        self._capture_window_s = 0.0  # paused seconds already closed in this window

    # ---- hooks for subclasses -------------------------------------------------------

    def on_capture_paused(self, until: datetime | None) -> None:
        """Capture paused (``until`` None: until resumed); also called when ``until`` moves."""

    def on_capture_resumed(self) -> None:
        """Capture resumed: by ``resume_capture`` or because ``until`` passed."""

    # ---- state ----------------------------------------------------------------------

    @property
    def capture_paused(self) -> bool:
        """True while an off-the-record pause is in force (an expired one ends here)."""
        self._expire_capture_pause()
        return self._capture_since is not None

    @property
    def capture_paused_until(self) -> datetime | None:
        """When the pause in force ends by itself; None when until resumed or not paused."""
        return self._capture_until if self.capture_paused else None

    def emit_summary_now(self) -> None:
        """Flush the window; a pause that has expired is ended first, at its ``until``."""
        self._expire_capture_pause()
        super().emit_summary_now()

    # ---- internals ------------------------------------------------------------------

    def _pause_capture(self, command: PauseCaptureCommand, cid: str | None) -> None:
        """Start (or move the end of) a pause, then ACK with the state in force."""
        now = self.clock.now()
        try:
            until = parse_until(command.args.get("until"))
        except ValueError as exc:  # fail closed: a pause we cannot read lasts until resumed
            self.report_error(f"pause_capture: {exc}", severity="warning", reason="bad_until")
            until = None
        self._expire_capture_pause()
        if until is not None and until <= now:
            pass  # already over: nothing to pause
        elif self._capture_since is None or until != self._capture_until:
            with self._hook_lock:
                if self._capture_since is None:
                    self._capture_since = now
                self._capture_until = until
            try:
                self.on_capture_paused(until)
            except Exception as exc:
                self._hook_failed("on_capture_paused", exc, force=True)
        self._ack("pause_capture", cid, **self._capture_state())

    def _resume_capture(self, command: ResumeCaptureCommand, cid: str | None) -> None:
        """End a pause in force (if any), then ACK."""
        self._expire_capture_pause()
        if self._capture_since is not None:
            self._end_capture_pause(self.clock.now())
        self._ack("resume_capture", cid, **self._capture_state())

    def _capture_state(self) -> dict[str, Any]:
        """What the ACKs carry: paused or not, and until when."""
        paused = self._capture_since is not None
        until = self._capture_until if paused else None
        return {"paused": paused, "until": iso(until) if until is not None else None}

    def _expire_capture_pause(self) -> None:
        """End a pause whose ``until`` has passed on our clock, at exactly ``until``."""
        until = self._capture_until
        if self._capture_since is not None and until is not None and self.clock.now() >= until:
            self.log("info", "capture pause expired", until=iso(until))
            self._end_capture_pause(until)

    def _end_capture_pause(self, at: datetime) -> None:
        with self._hook_lock:
            since = self._capture_since
            if since is None:
                return
            self._capture_window_s += max(0.0, (at - since).total_seconds())
            self._capture_since = None
            self._capture_until = None
        try:
            self.on_capture_resumed()
        except Exception as exc:
            self._hook_failed("on_capture_resumed", exc, force=True)

    def _capture_deadline(self) -> float | None:
        """Monotonic time at which the pause in force expires, for the main loop."""
        until = self._capture_until
        if self._capture_since is None or until is None:
            return None
        return self.clock.monotonic() + max(0.0, (until - self.clock.now()).total_seconds())

    def _summary_defaults(self, start: datetime, end: datetime) -> dict[str, Any]:
        """``paused_s`` of the window ending now (capturing agents only); resets the count."""
        if not self.CAPTURES:
            return {}
        paused = self._capture_window_s
        since = self._capture_since
        if since is not None:
            paused += max(0.0, (end - max(since, start)).total_seconds())
            self._capture_since = end
        self._capture_window_s = 0.0
        return {"paused_s": round(paused, 3)}


__all__ = ["AgentCapture", "parse_until"]
