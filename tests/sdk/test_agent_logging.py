"""The ``log`` helper and ProtocolLogHandler (agent_logging): records become ``log`` messages."""

from __future__ import annotations

from mimolo.protocol import LogMessage
from mimolo.testing import AgentHarness


def test_log_helper_and_logging_handler(harness: AgentHarness) -> None:
    import logging

    from mimolo.sdk import ProtocolLogHandler

    harness.agent.log("info", "hello", path="a/b")
    msg = harness.sent[-1]
    assert isinstance(msg, LogMessage) and msg.extra == {"path": "a/b"}
    logger = logging.getLogger("test_agent_logging.forwarded")
    handler = ProtocolLogHandler(harness.agent)
    logger.addHandler(handler)
    try:
        logger.warning("disk %s", "full")
    finally:
        logger.removeHandler(handler)
    fwd = harness.sent[-1]
    assert isinstance(fwd, LogMessage)
    assert (fwd.level, fwd.message) == ("warning", "disk full")
