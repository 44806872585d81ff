"""Fixtures for reporter tests: the anyio backend and a small derived timeline."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from mimolo.dataroot import DataRoot
from mimolo.timeline import Timeline, TimelinePolicy, timeline_for
from mimolo.timeline.demo import DemoSpec, write_demo

START = datetime(2026, 3, 2, tzinfo=UTC)
END = START + timedelta(days=3)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def data_root(tmp_path: Path) -> DataRoot:
    root = DataRoot.resolve(tmp_path / "root").ensure()
    write_demo(root, DemoSpec(days=3, seed=11, end=date(2026, 3, 4)))
    return root


@pytest.fixture
def acme(data_root: DataRoot) -> Timeline:
    timeline, warnings = timeline_for(
        data_root, START, END, TimelinePolicy(), client_id="acme", cache=None
    )
    assert warnings == [] and timeline.segments
    return timeline


@pytest.fixture
def everyone(data_root: DataRoot) -> Timeline:
    timeline, _ = timeline_for(data_root, START, END, TimelinePolicy(), cache=None)
    return timeline
