"""DesktopActivityAgent: time per focused application and title, active only while the
person is at the keyboard; never keystrokes, contents or screenshots.

Each sample's observation holds until the next one, so time is attributed to what was
seen at the start of each step. A summary window is wholly active, idle, paused or
without display: the agent flushes by itself at every such transition.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, ClassVar, Final

from mimolo.agents.desktop_activity.aggregate import (
    NO_DISPLAY,
    PAUSED,
    AppTotals,
    Observation,
    Privacy,
    WindowTotals,
    is_transition,
    observe,
    summary_fields,
)
from mimolo.agents.desktop_activity.backends import Backend, Opened, open_backend
from mimolo.agents.desktop_activity.spec import AGENT_VERSION, PARAMS, PLUGIN_ID
from mimolo.agents.desktop_activity.widget import WidgetView, render_widget
from mimolo.errors import CaptureUnavailable
from mimolo.sdk import BaseAgent, Param, WidgetRequest, activity_signal, validate_params
from mimolo.sdk.clock import Clock, iso

RETRY_MIN_S: Final = 2.0
RETRY_MAX_S: Final = 60.0


@dataclass(frozen=True, slots=True)
class WindowSnapshot:
    """One closed summary window."""

    totals: WindowTotals
    current: Observation
    backend: str
    reason: str


class DesktopActivityAgent(BaseAgent):
    """Desktop activity: the focused application and window and input idle time."""

    plugin_id: ClassVar[str] = PLUGIN_ID
    agent_version: ClassVar[str] = AGENT_VERSION
    params: ClassVar[tuple[Param, ...]] = PARAMS
    sample_interval_s: ClassVar[float | None] = 1.0
    capabilities: ClassVar[tuple[str, ...]] = ("widget",)
    CAPTURES: ClassVar[bool] = True

    def __init__(
        self,
        config: dict[str, Any] | None = None,
        *,
        clock: Clock | None = None,
        opener: Callable[[str], Opened] | None = None,
    ) -> None:
        super().__init__(config, clock=clock)
        self.config = validate_params(self.params, self.config)
        self.privacy = Privacy.compile(
            self.config["exclude"],
            record_titles=bool(self.config["record_titles"]),
            title_max_length=int(self.config["title_max_length"]),
        )
        # The sampling step is this instance's parameter; the SDK reads it per instance.
        self.__dict__["sample_interval_s"] = float(self.config["sample_interval_s"])
        self.idle_threshold_s = float(self.config["idle_threshold_s"])
        self.top_n = int(self.config["top_n"])
        self._open: Callable[[str], Opened] = opener or open_backend
        self.backend: Backend | None = None
        self.reason = "not started"
        self._retry_at: float | None = None
        self._retry_delay = RETRY_MIN_S
        self._paused = False
        self._held: Observation = NO_DISPLAY
        self._last_tick: float | None = None
        self._totals = WindowTotals()
        self._window_backend: str | None = None
        self._day: date | None = None
        self._today = AppTotals()
        self._today_active_s = 0.0
        self._today_idle_s = 0.0
        self.samples = 0
        self.flushes_at_transitions = 0

    # ---- lifecycle ------------------------------------------------------------------

    def on_start(self) -> None:
        mono = self.clock.monotonic()
        self._retry_at = mono
        self._held = self._observe(mono)
        self._last_tick = mono
        if self.backend is None:
            self._announce()

    def on_stop_sampling(self) -> None:
        with self._hook_lock:
            self._advance(self.clock.monotonic())
            self._last_tick = None  # the stopped time is observed by nobody

    def on_resume_sampling(self) -> None:
        with self._hook_lock:
            self._last_tick = self.clock.monotonic()

    def on_shutdown(self) -> None:
        if self.backend is not None:
            self.backend.close()
            self.backend = None

    # ---- capture pause (called by the SDK) ------------------------------------------

    def on_capture_paused(self, until: datetime | None) -> None:
        self._set_paused(True)  # ``until`` moving while paused changes nothing here

    def on_capture_resumed(self) -> None:
        self._set_paused(False)

    def _set_paused(self, paused: bool) -> None:
        """Close the window at the pause or resume, then hold PAUSED or a fresh sample."""
        with self._hook_lock:
            if paused == self._paused:
                return
            mono = self.clock.monotonic()
            self._advance(mono)
            self._paused = paused
            after = PAUSED if paused else self._observe(mono)
            self._close_window_if(after)

    # ---- sampling -------------------------------------------------------------------

    def accumulate(self, now: datetime) -> None:
        if self.capture_paused != self._paused:  # the SDK's state is the authority
            self._set_paused(self.capture_paused)
            return
        mono = self.clock.monotonic()
        self._advance(mono)
        self._close_window_if(self._observe(mono))

    def _close_window_if(self, after: Observation) -> None:
        """Hold ``after``; flush first when it starts another state."""
        if is_transition(self._held, after) and self._has_time():
            self.flushes_at_transitions += 1
            self.emit_summary_now()
        self._held = after
        if after.state in ("active", "idle"):
            self._window_backend = self._backend_name()

    def _has_time(self) -> bool:
        t = self._totals
        return t.active_s + t.idle_s + t.paused_s + t.excluded_s + t.unobserved_s > 0

    def _advance(self, mono: float) -> None:
        """Give the time since the last tick to the held observation."""
        if self._last_tick is None:
            return
        seconds = max(0.0, mono - self._last_tick)
        self._last_tick = mono
        self._totals.add(self._held, seconds)
        self._count_today(self._held, seconds)

    def _count_today(self, obs: Observation, seconds: float) -> None:
        day = self.clock.now().astimezone().date()
        if day != self._day:
            self._day, self._today = day, AppTotals()
            self._today_active_s = self._today_idle_s = 0.0
        if obs.state == "active":
            self._today_active_s += seconds
            self._today.add(obs, seconds)
        elif obs.state == "idle":
            self._today_idle_s += seconds

    def _observe(self, mono: float) -> Observation:
        """Sample the backend (opening it when due); nothing at all while paused."""
        if self._paused:
            return PAUSED
        backend = self._backend(mono)
        if backend is None:
            return NO_DISPLAY
        try:
            sample = backend.sample()
        except CaptureUnavailable as exc:
            self._lost(exc.message, mono)
            return NO_DISPLAY
        self.samples += 1
        return observe(
            sample, paused=False, idle_threshold_s=self.idle_threshold_s, privacy=self.privacy
        )

    # ---- the backend ----------------------------------------------------------------

    def _backend_name(self) -> str:
        return self.backend.name if self.backend is not None else "none"

    def _backend(self, mono: float) -> Backend | None:
        if self.backend is not None:
            return self.backend
        if self._retry_at is None or mono < self._retry_at:
            return None
        opened = self._open(str(self.config["backend"]))
        if opened.backend is None:
            changed = opened.reason != self.reason
            self.reason = opened.reason
            self._schedule_retry(mono, opened.retry)
            if changed:
                self._announce()
            return None
        self.backend = opened.backend
        self._retry_delay = RETRY_MIN_S
        self._retry_at = None
        self.reason = ""
        self._announce()
        return self.backend

    def _lost(self, reason: str, mono: float) -> None:
        if self.backend is not None:
            self.backend.close()
            self.backend = None
        self.reason = f"{reason}; retrying"
        self._schedule_retry(mono, True)
        self.log("warning", "desktop backend lost", reason=reason)
        self._announce()

    def _schedule_retry(self, mono: float, retry: bool) -> None:
        if not retry:
            self._retry_at = None
            return
        self._retry_at = mono + self._retry_delay
        self._retry_delay = min(RETRY_MAX_S, self._retry_delay * 2)

    def _announce(self) -> None:
        """Health says what is recorded: ok, a backend's limitation, or why nothing."""
        if self.backend is None:
            self.set_health("degraded", self.reason)
            return
        limitation = self.backend.limitation
        if limitation:
            self.set_health("degraded", f"{self.backend.name}: {limitation}")
        else:
            self.set_health("ok", f"recording through {self.backend.name}")
        self.log("info", f"desktop backend: {self.backend.name}", backend=self.backend.name)

    # ---- summaries ------------------------------------------------------------------

    def snapshot(self, now: datetime) -> WindowSnapshot:
        self._advance(self.clock.monotonic())
        totals, self._totals = self._totals, WindowTotals()
        backend = self._window_backend or self._backend_name()
        self._window_backend = (
            self._backend_name() if self._held.state in ("active", "idle") else None
        )
        return WindowSnapshot(totals, self._held, backend, self.reason)

    def summarize(self, snapshot: Any, start: datetime, end: datetime) -> dict[str, Any]:
        snap: WindowSnapshot = snapshot
        fields = summary_fields(
            snap.totals,
            snap.current,
            top_n=self.top_n,
            record_titles=self.privacy.record_titles,
            backend=snap.backend,
        )
        state = fields["state"]
        reasons = {
            "active": "at the keyboard",
            "idle": f"no input for {self.idle_threshold_s:g} s or more",
            "paused": "capture paused",
            "no_display": snap.reason or "no display",
        }
        active = state == "active"
        return {
            "window": {"start": iso(start), "end": iso(end)},
            "activity_signal": activity_signal(
                "active" if active else "passive", keep_alive=active, reason=reasons[state]
            ),
            **fields,
        }

    def extra_metrics(self) -> dict[str, Any]:
        return {
            "backend": self._backend_name(),
            "state": self._held.state,
            "samples": self.samples,
            "transition_flushes": self.flushes_at_transitions,
        }

    # ---- widget ---------------------------------------------------------------------

    def render_widget(self, request: WidgetRequest) -> str:
        with self._hook_lock:
            view = WidgetView(
                label=self.agent_label,
                current=self._held,
                backend=self._backend_name(),
                reason=self.reason,
                today=self._today,
                today_active_s=self._today_active_s,
                today_idle_s=self._today_idle_s,
                idle_threshold_s=self.idle_threshold_s,
            )
            return render_widget(view)


__all__ = ["DesktopActivityAgent", "WindowSnapshot"]
