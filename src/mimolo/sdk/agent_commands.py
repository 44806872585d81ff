"""AgentCommands: every command of DESIGN §3 a Python agent obeys, and its stop sequence.

Operations drives an agent through stdin: ``ack`` / ``reject`` of the handshake,
``flush``, ``stop`` / ``start`` of sampling, ``status``, ``shutdown``, a ``sequence`` of
those, the widget commands and the capture pause (``agent_capture``). This module decodes
a line, dispatches the command and runs the way out (``shutdown``, closed stdin, SIGTERM):
a summary in progress is kept, ``on_shutdown`` runs once and the main loop ends.
"""

from __future__ import annotations

from mimolo.errors import LineRejected
from mimolo.protocol.codec import decode_command
from mimolo.protocol.commands import (
    AckCommand,
    AgentCommand,
    FlushCommand,
    PauseCaptureCommand,
    RejectCommand,
    ResumeCaptureCommand,
    SequenceCommand,
    ShutdownCommand,
    StartCommand,
    StatusCommand,
    StopCommand,
    WidgetActionCommand,
    WidgetRenderCommand,
)
from mimolo.sdk.agent_capture import AgentCapture
from mimolo.sdk.stdio import MAX_COMMAND_BYTES


class AgentCommands(AgentCapture):
    """Command dispatch and the stop sequence; part of ``BaseAgent``."""

    # ---- hooks for subclasses -------------------------------------------------------

    def on_stop_sampling(self) -> None:
        """Sampling paused by a ``stop`` command."""

    def on_resume_sampling(self) -> None:
        """Sampling resumed by a ``start`` command."""

    def on_shutdown(self) -> None:
        """Release resources; called once before the process exits."""

    # ---- driven by ``run`` or by mimolo.testing -------------------------------------

    def handle_line(self, line: bytes | None) -> None:
        """One stdin line; bad ones are answered with an ``error`` and otherwise ignored."""
        if line is None:
            self.report_error(
                f"bad command line (oversized): over {MAX_COMMAND_BYTES} bytes",
                severity="warning",
                reason="oversized",
            )
            return
        try:
            command = decode_command(line)
        except LineRejected as exc:
            self.report_error(
                f"bad command line ({exc.reason}): {exc.detail}",
                severity="warning",
                reason=exc.reason,
            )
            return
        self.handle_command(command)

    def handle_command(self, command: AgentCommand) -> None:
        """Execute one decoded command (DESIGN §3)."""
        cid = command.id if isinstance(command.id, str) else None
        if isinstance(command, AckCommand):
            if not command.accepted:
                self.log("warning", "handshake not accepted")
                self._finish()
            return
        if isinstance(command, RejectCommand):
            self.log("warning", f"handshake rejected: {command.reason}")
            self._finish()
        elif isinstance(command, FlushCommand):
            self._flush(cid)
        elif isinstance(command, StopCommand):
            self._stop(cid)
        elif isinstance(command, StartCommand):
            self._start()
        elif isinstance(command, StatusCommand):
            self._send_status()
        elif isinstance(command, ShutdownCommand):
            self._shutdown(cid)
        elif isinstance(command, SequenceCommand):
            for step in command.sequence:
                if self.exiting:
                    break
                {
                    "stop": lambda: self._stop(cid),
                    "flush": lambda: self._flush(cid),
                    "shutdown": lambda: self._shutdown(cid),
                    "start": self._start,
                    "status": self._send_status,
                }[step]()
        elif isinstance(command, WidgetRenderCommand):
            self._widget_render(command)
        elif isinstance(command, WidgetActionCommand):
            self._widget_action(command, cid)
        elif isinstance(command, PauseCaptureCommand):
            self._pause_capture(command, cid)
        elif isinstance(command, ResumeCaptureCommand):
            self._resume_capture(command, cid)

    def handle_eof(self) -> None:
        """Operations closed our stdin: keep a summary in progress if cheap, then exit."""
        if self._pending:
            self.emit_summary_now()
        self._finish()

    def handle_signal(self) -> None:
        """SIGTERM: like ``shutdown`` without a command to acknowledge."""
        self.handle_eof()

    # ---- internals ------------------------------------------------------------------

    def _flush(self, cid: str | None) -> None:
        """Summary first, then the ACK."""
        self.emit_summary_now()
        self._ack("flush", cid)

    def _stop(self, cid: str | None) -> None:
        """Pause sampling (heartbeats continue) and ACK."""
        if self.sampling:
            self.sampling = False
            self._next_sample = None
            try:
                self.on_stop_sampling()
            except Exception as exc:
                self._hook_failed("on_stop_sampling", exc, force=True)
        self._ack("stop", cid)

    def _start(self) -> None:
        """Resume sampling; ``start`` has no ACK."""
        if not self.sampling:
            self.sampling = True
            self._schedule_sampling(self.clock.monotonic())
            try:
                self.on_resume_sampling()
            except Exception as exc:
                self._hook_failed("on_resume_sampling", exc, force=True)

    def _shutdown(self, cid: str | None) -> None:
        """Clean up, ACK, and leave the main loop."""
        self._finish()
        self._ack("shutdown", cid)

    def _finish(self) -> None:
        """Run ``on_shutdown`` once and mark the agent as exiting."""
        if self.exiting:
            return
        self.exiting = True
        try:
            self.on_shutdown()
        except Exception as exc:
            self._hook_failed("on_shutdown", exc, force=True)


__all__ = ["AgentCommands"]
