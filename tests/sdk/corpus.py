"""Paths of the corpus agents and argv builders shared by the SDK tests."""

from __future__ import annotations

import sys
from pathlib import Path

from mimolo.sdk.conformance import CheckOptions

HERE = Path(__file__).parent
BROKEN = HERE / "broken_agents"
UPSTREAM_V03 = HERE / "upstream_v03_agent.py"

# Generous for a loaded machine: a passing agent never waits these out.
PATIENT = CheckOptions(seconds=0.5, timeout_s=20.0, heartbeat_interval_s=1.0, heartbeat_grace_s=8.0)


def script(path: Path) -> list[str]:
    """The argv that runs a test script with this interpreter."""
    return [sys.executable, str(path)]


def module(name: str) -> list[str]:
    """The argv that runs ``python -m name`` with this interpreter."""
    return [sys.executable, "-m", name]
