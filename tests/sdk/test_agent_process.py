"""BaseAgent as a real process: stdout discipline, exits, bad input, logging."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import pytest

from mimolo.protocol import (
    AckCommand,
    ErrorMessage,
    FlushCommand,
    HandshakeMessage,
    LogMessage,
    SummaryMessage,
)
from mimolo.testing import AgentDriver, agent_environment, is_ack, is_type
from sdk.corpus import module

pytestmark = pytest.mark.slow

WAIT = 30.0  # generous: only ever waited out when something is broken

CHATTY = """
import logging, os
from datetime import datetime
from mimolo.sdk import BaseAgent

class Chatty(BaseAgent):
    plugin_id = "chatty"
    sample_interval_s = 0.05

    def on_start(self):
        print("stray print from on_start")
        os.write(1, b"raw write to fd 1\\n")
        logging.getLogger("chatty").info("started with %s", self.config)

    def accumulate(self, now):
        if not getattr(self, "sampled", False):
            self.sampled = True
            self.log("debug", "first sample")

if __name__ == "__main__":
    Chatty.main()
"""


@pytest.fixture
def chatty(tmp_path: Path) -> Path:
    path = tmp_path / "chatty_agent.py"
    path.write_text(CHATTY, encoding="utf-8")
    return path


def test_stray_output_goes_to_stderr_and_logging_is_forwarded(tmp_path: Path, chatty: Path) -> None:
    env = agent_environment(tmp_path / "root", heartbeat_interval_s=30)
    with AgentDriver([sys.executable, str(chatty)], env=env) as driver:
        log = driver.wait_for(is_type("log"), WAIT)
        assert log is not None and isinstance(log.message, LogMessage)
        assert log.message.message == "started with {}"
        assert log.message.extra == {"logger": "chatty"}
        driver.send(FlushCommand())
        assert driver.wait_for(is_ack("flush"), WAIT) is not None
        driver.close_stdin()
        assert driver.wait_exit(WAIT) == 0
        assert driver.wait_stdout_closed(WAIT)
    assert all(line.message is not None for line in driver.lines), driver.lines
    assert isinstance(driver.lines[0].message, HandshakeMessage)
    assert b"stray print from on_start" in driver.stderr
    assert b"raw write to fd 1" in driver.stderr


def test_sigterm_exits_cleanly_keeping_the_summary_in_progress(
    tmp_path: Path, chatty: Path
) -> None:
    env = agent_environment(tmp_path / "root", heartbeat_interval_s=30)
    with AgentDriver([sys.executable, str(chatty)], env=env) as driver:
        first_sample = driver.wait_for(
            lambda ln: isinstance(ln.message, LogMessage) and ln.message.message == "first sample",
            WAIT,
        )
        assert first_sample is not None
        driver.proc.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
        assert driver.wait_exit(WAIT) == 0
        assert driver.wait_stdout_closed(WAIT)
    summaries = [line for line in driver.lines if isinstance(line.message, SummaryMessage)]
    assert len(summaries) == 1


def test_stdin_eof_exits_zero(tmp_path: Path) -> None:
    env = agent_environment(tmp_path / "root", heartbeat_interval_s=30)
    with AgentDriver(module("mimolo.agents.agent_template"), env=env) as driver:
        assert driver.wait_for(is_type("handshake"), WAIT) is not None
        driver.close_stdin()
        assert driver.wait_exit(WAIT) == 0


def test_invalid_config_exits_2_without_protocol_output(tmp_path: Path) -> None:
    env = agent_environment(tmp_path / "root", config={"mode": "bogus"}, heartbeat_interval_s=30)
    with AgentDriver(module("mimolo.agents.agent_example"), env=env) as driver:
        assert driver.wait_exit(WAIT) == 2
        assert driver.wait_stdout_closed(WAIT)
    assert driver.lines == []
    assert b"params.mode" in driver.stderr


def test_hostile_command_lines_are_answered_and_survived(tmp_path: Path) -> None:
    env = agent_environment(tmp_path / "root", heartbeat_interval_s=30)
    with AgentDriver(module("mimolo.agents.agent_example"), env=env) as driver:
        assert driver.wait_for(is_type("handshake"), WAIT) is not None
        driver.send(AckCommand(app_version="0.1.0", protocol_version="0.4"))
        mark = driver.mark()
        driver.send_raw(b"\x00\xff garbage\n")
        driver.send_raw(b'{"cmd": "' + b"x" * (300 * 1024) + b'"}\n')
        driver.send_raw(json.dumps({"cmd": "nope"}).encode() + b"\n")
        driver.send(FlushCommand(id="after"))
        ack = driver.wait_for(is_ack("flush"), WAIT, after=mark)
        assert ack is not None and ack.message is not None
        assert ack.message.data == {"command_id": "after"}
        errors = [m for m in driver.messages(mark) if isinstance(m, ErrorMessage)]
        assert len(errors) == 3
        assert [e.data["reason"] for e in errors] == ["not_json", "oversized", "unknown_type"]
        assert errors[2].data["reason"] == "unknown_type"
        driver.send({"cmd": "shutdown"})
        assert driver.wait_exit(WAIT) == 0


def test_agent_exits_when_nobody_reads_its_output(tmp_path: Path) -> None:
    env = agent_environment(tmp_path / "root", heartbeat_interval_s=0.2)
    with AgentDriver(module("mimolo.agents.agent_template"), env=env) as driver:
        assert driver.wait_for(is_type("handshake"), WAIT) is not None
        proc = driver.proc
        assert proc is not None and proc.stdout is not None
        proc.stdout.close()  # Operations stopped reading: the next heartbeat hits EPIPE
        # stdin stays open, so only the broken pipe can make it exit.
        assert driver.wait_exit(WAIT) == 0
