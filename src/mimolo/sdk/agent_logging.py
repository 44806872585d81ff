"""ProtocolLogHandler: an agent's ``logging`` records sent to Operations as ``log`` messages.

An agent's stdout is the protocol channel, so Python logging cannot print there;
``BaseAgent.main`` installs this handler on the root logger instead, and Operations files
the records in diagnostics.
"""

from __future__ import annotations

import logging
import threading
from typing import Final

from mimolo.protocol.messages import LogLevel
from mimolo.sdk.agent_core import AgentCore

_LEVELS: Final[dict[int, LogLevel]] = {
    logging.DEBUG: "debug",
    logging.INFO: "info",
    logging.WARNING: "warning",
    logging.ERROR: "error",
}


class ProtocolLogHandler(logging.Handler):
    """Forwards ``logging`` records as protocol ``log`` messages."""

    def __init__(self, agent: AgentCore, level: int = logging.INFO) -> None:
        super().__init__(level)
        self._agent = agent
        self._busy = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        """Forward one record, never recursing into itself."""
        if getattr(self._busy, "on", False):
            return
        self._busy.on = True
        try:
            level = _LEVELS.get(record.levelno, "error" if record.levelno > 40 else "debug")
            self._agent.log(level, record.getMessage(), logger=record.name)
        finally:
            self._busy.on = False


__all__ = ["ProtocolLogHandler"]
