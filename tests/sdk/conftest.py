"""Fixtures for SDK tests."""

from __future__ import annotations

import pytest

from mimolo.testing import AgentHarness

from ._counter import Counter


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def harness(monkeypatch: pytest.MonkeyPatch) -> AgentHarness:
    monkeypatch.setenv("MIMOLO_HEARTBEAT_INTERVAL_S", "15")
    monkeypatch.setenv("MIMOLO_AGENT_ID", "counter-1")
    monkeypatch.setenv("MIMOLO_AGENT_LABEL", "Counter one")
    return AgentHarness.create(Counter)
