"""Test helpers for agent authors: a fake Operations, a virtual clock, a private display.

``AgentDriver`` (from ``mimolo.sdk.driver``) runs any agent command (argv list, no shell)
as a real subprocess in its own process group, decodes every stdout line and sends
commands; it is what ``mimolo agent check`` is built on. ``AgentHarness`` drives a
``BaseAgent`` subclass in process on a ``VirtualClock``, so timing logic is tested without
sleeping.
``xvfb_display`` gives an agent that captures the screen a private X display.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from mimolo.process_group import stop_popen
from mimolo.protocol.codec import (
    decode_command,
    encode_command,
)
from mimolo.protocol.commands import AgentCommand
from mimolo.protocol.messages import AgentMessage
from mimolo.sdk.agent import BaseAgent
from mimolo.sdk.driver import (
    AgentDriver,
    Line,
    agent_environment,
    is_ack,
    is_type,
    message_type,
)


class VirtualClock:
    """A clock that moves only when told: ``advance(seconds)``."""

    def __init__(self, start: datetime | None = None) -> None:
        self._wall = start or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        self._mono = 1000.0

    def now(self) -> datetime:
        return self._wall

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        """Move both clocks forward."""
        self._wall += timedelta(seconds=seconds)
        self._mono += seconds


@dataclass
class AgentHarness:
    """Drives a ``BaseAgent`` in process on a ``VirtualClock``; collects what it sends."""

    agent: BaseAgent
    clock: VirtualClock = field(default_factory=VirtualClock)

    @classmethod
    def create(
        cls,
        agent_cls: type[BaseAgent],
        config: dict[str, Any] | None = None,
        *,
        heartbeat_interval_s: float | None = None,
    ) -> AgentHarness:
        """Instantiate ``agent_cls`` on a virtual clock and run its handshake.

        ``config`` is used as given (validate it with ``validate_params`` to get defaults);
        ``heartbeat_interval_s`` overrides ``MIMOLO_HEARTBEAT_INTERVAL_S``.
        """
        clock = VirtualClock()
        agent = agent_cls(config if config is not None else {}, clock=clock)
        if heartbeat_interval_s is not None:
            agent.heartbeat_interval_s = heartbeat_interval_s
        agent.sent = []
        agent.begin()
        return cls(agent=agent, clock=clock)

    @property
    def sent(self) -> list[AgentMessage]:
        """Every message the agent sent so far."""
        assert self.agent.sent is not None
        return self.agent.sent

    def advance(self, seconds: float) -> list[AgentMessage]:
        """Move time forward, running every sample tick and heartbeat that falls due."""
        before = len(self.sent)
        remaining = seconds
        while True:
            wait = self.agent.run_due()
            if wait > remaining:
                self.clock.advance(remaining)
                self.agent.run_due()
                break
            self.clock.advance(wait)
            remaining -= wait
        return self.sent[before:]

    def send(self, command: AgentCommand | Mapping[str, Any]) -> list[AgentMessage]:
        """Deliver one command (as the stdin reader would) and return what it produced."""
        before = len(self.sent)
        if isinstance(command, Mapping):
            self.agent.handle_line(json.dumps(dict(command)).encode())
        else:
            self.agent.handle_command(decode_command(encode_command(command)))
        return self.sent[before:]


@contextlib.contextmanager
def xvfb_display(
    *, screen: str = "1024x768x24", white: bool = False, timeout_s: float = 30.0
) -> Iterator[str]:
    """Run a private ``Xvfb`` (no TCP) for the block and yield its ``DISPLAY`` value.

    The server picks a free display number and reports it (``-displayfd``), so parallel
    runs never collide. ``white`` gives a white root window (redaction shows as black).
    Raises ``RuntimeError`` when Xvfb does not report a display within ``timeout_s``.
    """
    read_fd, write_fd = os.pipe()
    argv = ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", screen, "-nolisten", "tcp"]
    if white:
        argv.append("-wr")
    try:
        proc = subprocess.Popen(
            argv,
            pass_fds=(write_fd,),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    finally:
        os.close(write_fd)
    try:
        number = b""
        deadline = time.monotonic() + timeout_s
        while not number.endswith(b"\n"):
            ready, _, _ = select.select([read_fd], [], [], max(0.0, deadline - time.monotonic()))
            chunk = os.read(read_fd, 16) if ready else b""
            if not chunk:
                raise RuntimeError("Xvfb did not report a display number")
            number += chunk
        yield f":{number.decode().strip()}"
    finally:
        os.close(read_fd)
        stop_popen(proc, label="Xvfb", grace_s=10.0)


__all__ = [
    "AgentDriver",
    "AgentHarness",
    "Line",
    "VirtualClock",
    "agent_environment",
    "is_ack",
    "is_type",
    "message_type",
    "xvfb_display",
]
