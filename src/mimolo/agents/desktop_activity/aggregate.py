"""Pure aggregation: samples become observations, observations become a summary window.

No I/O and no clock: the agent passes each observation with the seconds it held for. The
privacy rules apply here, at capture, before anything is kept: excluded time keeps no
application and no title, ``record_titles = false`` keeps no title, titles are cut.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from mimolo.agents.desktop_activity.backends import Sample
from mimolo.errors import ConfigError

State = Literal["active", "idle", "paused", "no_display"]

MAX_APPS: Final = 500  # distinct applications held per window; time beyond goes to other_s
MAX_TITLES: Final = 200  # distinct titles held per application; more count as app time only
ELLIPSIS: Final = "…"


@dataclass(frozen=True, slots=True)
class Observation:
    """What one sample means after the idle threshold and the privacy rules."""

    state: State
    application: str | None = None
    executable: str | None = None
    title: str | None = None
    excluded: bool = False


PAUSED: Final = Observation("paused")
NO_DISPLAY: Final = Observation("no_display")


@dataclass(frozen=True, slots=True)
class Privacy:
    """Exclude rules, whether titles are kept, and the title cap."""

    exclude: tuple[re.Pattern[str], ...] = ()
    record_titles: bool = True
    title_max_length: int = 120

    @classmethod
    def compile(
        cls, exclude: Sequence[str], *, record_titles: bool, title_max_length: int
    ) -> Privacy:
        """Compile the exclude rules; a bad pattern raises ConfigError naming its index."""
        patterns: list[re.Pattern[str]] = []
        for i, pattern in enumerate(exclude):
            if not pattern:
                raise ConfigError("empty pattern", field=f"params.exclude[{i}]")
            try:
                patterns.append(re.compile(pattern))
            except re.error as exc:
                raise ConfigError(
                    f"not a regular expression: {exc}", field=f"params.exclude[{i}]"
                ) from None
        return cls(tuple(patterns), record_titles, title_max_length)

    def excludes(self, application: str | None, title: str | None) -> bool:
        """Whether any rule matches the application or the (full) title."""
        for pattern in self.exclude:
            if application is not None and pattern.search(application):
                return True
            if title is not None and pattern.search(title):
                return True
        return False

    def cut(self, title: str | None) -> str | None:
        """The title as recorded: None when titles are off, cut to the cap."""
        if not self.record_titles or title is None:
            return None
        title = " ".join(title.split())  # no newlines or tabs from a hostile title
        if len(title) > self.title_max_length:
            title = title[: self.title_max_length - 1] + ELLIPSIS
        return title


def observe(
    sample: Sample | None, *, paused: bool, idle_threshold_s: float, privacy: Privacy
) -> Observation:
    """Classify one sample. Idle and paused time keep no application; an unknown idle
    time (the backend cannot see input) counts as active."""
    if paused:
        return PAUSED
    if sample is None:
        return NO_DISPLAY
    if sample.idle_s is not None and sample.idle_s >= idle_threshold_s:
        return Observation("idle")
    if privacy.excludes(sample.application, sample.title):
        return Observation("active", excluded=True)
    if sample.application is None:
        return Observation("active")
    return Observation("active", sample.application, sample.executable, privacy.cut(sample.title))


@dataclass(slots=True)
class AppTime:
    """One application's time (and its titles') within a tally."""

    executable: str | None
    seconds: float = 0.0
    titles: dict[str, float] = field(default_factory=dict)


@dataclass(slots=True)
class AppTotals:
    """Time per application and title, bounded in size."""

    apps: dict[str, AppTime] = field(default_factory=dict)
    overflow_s: float = 0.0

    def add(self, obs: Observation, seconds: float) -> None:
        """Count ``seconds`` for the observation's application (when it has one)."""
        if obs.application is None:
            return
        entry = self.apps.get(obs.application)
        if entry is None:
            if len(self.apps) >= MAX_APPS:
                self.overflow_s += seconds
                return
            entry = self.apps[obs.application] = AppTime(obs.executable)
        entry.seconds += seconds
        if entry.executable is None:
            entry.executable = obs.executable
        if obs.title is not None and (obs.title in entry.titles or len(entry.titles) < MAX_TITLES):
            entry.titles[obs.title] = entry.titles.get(obs.title, 0.0) + seconds

    @property
    def total_s(self) -> float:
        """All application time, listed or not."""
        return sum(a.seconds for a in self.apps.values()) + self.overflow_s

    def top(self, n: int, *, with_titles: bool) -> tuple[list[dict[str, Any]], float]:
        """The ``n`` biggest applications (biggest first, their ``n`` biggest titles) and
        the seconds of all the others."""
        ranked = sorted(self.apps.items(), key=lambda kv: (-kv[1].seconds, kv[0]))
        listed: list[dict[str, Any]] = []
        for name, entry in ranked[:n]:
            row: dict[str, Any] = {
                "application": name,
                "executable": entry.executable,
                "seconds": round(entry.seconds, 3),
            }
            if with_titles:
                titles = sorted(entry.titles.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
                row["titles"] = [{"title": t, "seconds": round(s, 3)} for t, s in titles]
            listed.append(row)
        other = sum(entry.seconds for _, entry in ranked[n:]) + self.overflow_s
        return listed, other


@dataclass(slots=True)
class WindowTotals:
    """Everything one summary window holds: seconds per state and per application."""

    active_s: float = 0.0
    idle_s: float = 0.0
    paused_s: float = 0.0
    excluded_s: float = 0.0
    unobserved_s: float = 0.0  # no display: counted nowhere in the summary
    apps: AppTotals = field(default_factory=AppTotals)

    def add(self, obs: Observation, seconds: float) -> None:
        """Count ``seconds`` (>= 0) of ``obs``."""
        if seconds <= 0:
            return
        if obs.state == "paused":
            self.paused_s += seconds
        elif obs.state == "idle":
            self.idle_s += seconds
        elif obs.state == "no_display":
            self.unobserved_s += seconds
        elif obs.excluded:
            self.excluded_s += seconds
        else:
            self.active_s += seconds
            self.apps.add(obs, seconds)

    def state(self, current: Observation) -> State:
        """The window's state: the one that holds the most time (the agent closes a window
        at every transition, so there is one), else the current observation's."""
        spans: dict[State, float] = {
            "active": self.active_s + self.excluded_s,
            "idle": self.idle_s,
            "paused": self.paused_s,
            "no_display": self.unobserved_s,
        }
        best: State = max(spans, key=lambda s: spans[s])
        return best if spans[best] > 0 else current.state


def summary_fields(
    totals: WindowTotals,
    current: Observation,
    *,
    top_n: int,
    record_titles: bool,
    backend: str,
) -> dict[str, Any]:
    """The summary ``data`` of the shared contract, without ``window`` and the reason."""
    state = totals.state(current)
    applications, other_s = totals.apps.top(top_n, with_titles=record_titles)
    shown = current.state == "active" and current.application is not None
    return {
        "backend": backend,
        "state": state,
        "active_s": round(totals.active_s, 3),
        "idle_s": round(totals.idle_s, 3),
        "paused_s": round(totals.paused_s, 3),
        "excluded_s": round(totals.excluded_s, 3),
        "applications": applications,
        "other_s": round(other_s, 3),
        "current": (
            {"application": current.application, "title": current.title} if shown else None
        ),
    }


def is_transition(before: Observation, after: Observation) -> bool:
    """Whether the agent must close the window between these two observations."""
    return before.state != after.state


__all__ = [
    "ELLIPSIS",
    "MAX_APPS",
    "MAX_TITLES",
    "NO_DISPLAY",
    "PAUSED",
    "AppTime",
    "AppTotals",
    "Observation",
    "Privacy",
    "State",
    "WindowTotals",
    "is_transition",
    "observe",
    "summary_fields",
]
