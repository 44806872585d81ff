"""BaseAgent: the Python SDK that makes an Agent JLP agent a few dozen lines.

Subclass it, declare ``plugin_id``, ``agent_version``, ``params``, ``sample_interval_s``,
implement ``accumulate`` / ``snapshot`` / ``summarize``, and call ``MyAgent.main()`` from
the package's ``__main__``. The SDK does the handshake, heartbeats with self-measured
metrics, every command of DESIGN §3, widgets, logging and a clean exit.

BaseAgent is assembled in layers, each its own module: ``agent_core`` (state, the
envelope, every outgoing message and the summary hooks), ``agent_widgets`` (the widget
hooks and answers), ``agent_commands`` (command dispatch and the stop sequence, with
``on_stop_sampling`` / ``on_resume_sampling`` / ``on_shutdown``), ``agent_capture`` (the
off-the-record pause of agents that declare ``CAPTURES = True``). This module adds the
lifecycle: handshake and ``on_start``, the sample and heartbeat schedule, the main loop
and the process entry point.

Threads: one stdin reader feeds an inbox; one main loop blocks on it until the next
deadline (sample tick or heartbeat), so an idle agent costs next to nothing.
"""

from __future__ import annotations

import logging
import queue
import signal
import sys
from collections.abc import Sequence
from types import FrameType
from typing import ClassVar, NoReturn

from mimolo.errors import ConfigError
from mimolo.protocol.commands import CAPTURE_PAUSE_CAPABILITY
from mimolo.protocol.messages import HandshakeMessage
from mimolo.sdk.agent_cli import parse_agent_argv, resolve_config
from mimolo.sdk.agent_commands import AgentCommands
from mimolo.sdk.agent_logging import ProtocolLogHandler
from mimolo.sdk.stdio import LineReader, ProtocolWriter, take_over_stdout


class BaseAgent(AgentCommands):
    """Subclass this; override the hooks you need. Helpers are safe from any thread."""

    capabilities: ClassVar[tuple[str, ...]] = ()

    # ---- hooks for subclasses -------------------------------------------------------

    def on_start(self) -> None:
        """Called once after the handshake, before the first sample."""

    # ---- the core, driven by ``run`` or by mimolo.testing --------------------------

    def begin(self) -> None:
        """Handshake, ``on_start``, first deadlines."""
        now = self.clock.monotonic()
        self._emit(
            HandshakeMessage(
                **self._envelope(),
                min_app_version=self.min_app_version,
                capabilities=self._capabilities(),
                data={
                    "plugin_id": self.plugin_id,
                    "sample_interval_s": self.sample_interval_s,
                    "heartbeat_interval_s": self.heartbeat_interval_s,
                    "widget_manifest": self.widget_manifest(),
                },
            )
        )
        self._window_start = self.clock.now()
        try:
            self.on_start()
        except Exception as exc:
            self._hook_failed("on_start", exc, force=True)
            self._health, self._health_message = "degraded", f"on_start failed: {exc}"
        self._next_heartbeat = now + self.heartbeat_interval_s
        self._schedule_sampling(now)

    def run_due(self) -> float:
        """Run the sample tick and heartbeat that are due; seconds until the next one."""
        self._expire_capture_pause()
        now = self.clock.monotonic()
        interval = self.sample_interval_s
        if (
            self.sampling
            and self._next_sample is not None
            and interval
            and now >= self._next_sample
        ):
            try:
                with self._hook_lock:
                    self.accumulate(self.clock.now())
                    self._pending = True
            except Exception as exc:
                self._hook_failed("accumulate", exc)
            self._next_sample += interval
            if self._next_sample <= now:  # fell behind: skip, never burst
                self._next_sample = now + interval
        if now >= self._next_heartbeat:
            self._send_heartbeat()
            self._next_heartbeat = max(self._next_heartbeat + self.heartbeat_interval_s, now)
            if self._next_heartbeat <= now:
                self._next_heartbeat = now + self.heartbeat_interval_s
        deadlines = [self._next_heartbeat]
        if self.sampling and self._next_sample is not None:
            deadlines.append(self._next_sample)
        capture_deadline = self._capture_deadline()
        if capture_deadline is not None:
            deadlines.append(capture_deadline)
        return max(0.0, min(deadlines) - self.clock.monotonic())

    def run(self, stdin_fd: int, writer: ProtocolWriter) -> int:
        """The main loop: returns the exit code."""
        self._writer = writer
        self.begin()
        reader = LineReader(stdin_fd, self._reader_line, lambda: self._inbox.put(("eof", None)))
        reader.start()
        while not self.exiting:
            timeout = self.run_due()
            if writer.broken:  # nobody reads our output any more
                self._finish()
                break
            try:
                kind, payload = self._inbox.get(timeout=timeout)
            except queue.Empty:
                continue
            if kind in ("line", "oversized"):
                self._line_slots.release()
                self.handle_line(payload)
            elif kind == "eof":
                self.handle_eof()
            elif kind == "signal":
                self.handle_signal()
        return self.exit_code

    @classmethod
    def main(cls, argv: Sequence[str] | None = None) -> NoReturn:
        """Process entry point: ``python -m mimolo.agents.<name> [--param NAME=VALUE ...]``."""
        args = list(sys.argv[1:] if argv is None else argv)
        overrides: dict[str, str] = {}
        if args:  # by hand; Operations passes none
            doc = (cls.__doc__ or "").replace("``", "").strip().splitlines()
            overrides = parse_agent_argv(cls.plugin_id, doc[0] if doc else "", cls.params, args)
        writer = take_over_stdout()
        try:
            agent = cls(resolve_config(cls.params, overrides))
        except (ConfigError, ValueError) as exc:
            print(f"{cls.plugin_id}: invalid configuration: {exc}", file=sys.stderr)
            writer.close()
            sys.exit(2)
        handler = ProtocolLogHandler(agent)
        root = logging.getLogger()
        root.addHandler(handler)
        if root.level > logging.INFO or root.level == logging.NOTSET:
            root.setLevel(logging.INFO)

        def _on_term(signum: int, frame: FrameType | None) -> None:
            """SIGTERM handler: hand the signal to the main loop."""
            agent._inbox.put(("signal", None))  # SimpleQueue.put is reentrant

        signal.signal(signal.SIGTERM, _on_term)
        code = agent.run(0, writer)
        root.removeHandler(handler)
        writer.close()
        sys.exit(code)

    # ---- internals ------------------------------------------------------------------

    def _reader_line(self, line: bytes | None) -> None:
        """Reader thread: queue a line, blocking when the inbox is full."""
        self._line_slots.acquire()
        self._inbox.put(("line" if line is not None else "oversized", line))

    def _capabilities(self) -> list[str]:
        """What the handshake advertises."""
        caps = ["summary", "heartbeat", "status", "flush", "sequence"]
        if self.widget_manifest() is not None:
            caps.append("widget")
        if self.CAPTURES:
            caps.append(CAPTURE_PAUSE_CAPABILITY)
        return caps + [c for c in self.capabilities if c not in caps]


__all__ = ["BaseAgent"]
