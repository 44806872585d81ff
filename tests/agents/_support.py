"""Helpers for the built-in agent tests: running agents as real subprocesses."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from mimolo.protocol.messages import LogMessage, StatusMessage, SummaryMessage
from mimolo.testing import AgentDriver, Line, agent_environment, is_ack, is_type

DEADLINE_S = 30.0


def agent_argv(name: str) -> list[str]:
    """The command a built-in template starts."""
    return [sys.executable, "-m", f"mimolo.agents.{name}"]


def driver_for(
    name: str,
    data_dir: Path,
    config: Mapping[str, Any],
    *,
    instance_id: str = "inst-1",
    extra_env: Mapping[str, str] | None = None,
    drop_env: tuple[str, ...] = (),
    heartbeat_interval_s: float = 1.0,
) -> AgentDriver:
    """An AgentDriver (not started) for a built-in agent in a temp data root."""
    environ = agent_environment(
        data_dir,
        plugin_id=name,
        instance_id=instance_id,
        label=f"{name} under test",
        heartbeat_interval_s=heartbeat_interval_s,
        config=config,
    )
    environ.update(extra_env or {})
    for key in drop_env:
        environ.pop(key, None)
    return AgentDriver(agent_argv(name), env=environ)


def flush(driver: AgentDriver, timeout: float = DEADLINE_S) -> dict[str, Any]:
    """Send ``flush`` and return the summary's ``data``."""
    mark = driver.mark()
    driver.send({"cmd": "flush"})
    line = driver.wait_for(is_type("summary"), timeout, after=mark)
    assert line is not None, f"no summary; stderr: {driver.stderr.decode(errors='replace')}"
    assert driver.wait_for(is_ack("flush"), timeout, after=mark) is not None
    assert isinstance(line.message, SummaryMessage)
    return line.message.data


def is_log(fragment: str) -> Callable[[Line], bool]:
    """Predicate: a ``log`` message whose text contains ``fragment``."""
    return lambda line: isinstance(line.message, LogMessage) and fragment in line.message.message


def is_health(health: str) -> Callable[[Line], bool]:
    """Predicate: a ``status`` message with this health."""
    return lambda line: isinstance(line.message, StatusMessage) and line.message.health == health


def logs(driver: AgentDriver, fragment: str) -> list[LogMessage]:
    """Every ``log`` message so far containing ``fragment``."""
    return [m for m in driver.messages() if isinstance(m, LogMessage) and fragment in m.message]


def poll(condition: Callable[[], Any], timeout: float = DEADLINE_S, step: float = 0.1) -> Any:
    """Call ``condition`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(step)


def raw_json(line: Line) -> dict[str, Any]:
    """A line's raw JSON."""
    value = json.loads(line.raw)
    assert isinstance(value, dict)
    return value
