"""A scripted desktop for in-process agent tests on a virtual clock: the test says which
window has focus and when the last input was; idle time grows with the clock. The real
X11 and D-Bus backends are tested against real servers in their own modules."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mimolo.agents.desktop_activity.agent import DesktopActivityAgent
from mimolo.agents.desktop_activity.backends import Opened, Sample
from mimolo.agents.desktop_activity.spec import PARAMS
from mimolo.errors import CaptureUnavailable
from mimolo.protocol.params import validate_params
from mimolo.testing import AgentHarness, VirtualClock


@dataclass
class ScriptedDesktop:
    """What the 'screen' shows; ``lost`` makes the next sample fail like a dead X server."""

    clock: VirtualClock
    application: str | None = "Editor"
    executable: str | None = "editor"
    title: str | None = "notes.txt"
    last_input: float = 0.0
    limitation: str | None = None
    lost: bool = False
    available: bool = True
    samples: int = 0
    opens: int = 0
    closed: int = 0
    name: str = "x11"
    history: list[str] = field(default_factory=list)

    def focus(self, application: str | None, title: str | None = None) -> None:
        self.application, self.title = application, title
        self.executable = application.lower() if application else None
        self.touch()

    def touch(self) -> None:
        """Input now: the idle counter restarts."""
        self.last_input = self.clock.monotonic()

    def sample(self) -> Sample:
        if self.lost:
            raise CaptureUnavailable("X connection lost: scripted")
        self.samples += 1
        idle = self.clock.monotonic() - self.last_input
        return Sample(self.application, self.executable, self.title, idle)

    def close(self) -> None:
        self.closed += 1

    def opener(self, choice: str) -> Opened:
        self.opens += 1
        if not self.available:
            return Opened(None, "no display: scripted", retry=True)
        self.lost = False
        return Opened(self, "", retry=True)


def harness(
    config: dict[str, Any] | None = None,
    *,
    opener: Callable[[ScriptedDesktop], Callable[[str], Opened]] | None = None,
    heartbeat_interval_s: float = 3600.0,
) -> tuple[AgentHarness, ScriptedDesktop]:
    """A started agent (handshake sent) on a virtual clock, sampling ``ScriptedDesktop``."""
    clock = VirtualClock()
    desk = ScriptedDesktop(clock)
    desk.touch()
    agent = DesktopActivityAgent(
        validate_params(PARAMS, config or {}),
        clock=clock,
        opener=(opener(desk) if opener else desk.opener),
    )
    agent.heartbeat_interval_s = heartbeat_interval_s
    agent.sent = []
    agent.begin()
    return AgentHarness(agent=agent, clock=clock), desk


__all__ = ["ScriptedDesktop", "harness"]
