"""Fixtures for Control tests: a temp data root and a live Control (no Operations)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mimolo.dataroot import DataRoot

from ._live import LiveControl, live_control, short_data_root


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def data_root() -> Iterator[DataRoot]:
    with short_data_root() as root:
        yield root


@pytest.fixture(scope="module")
def control(data_root: DataRoot) -> Iterator[LiveControl]:
    """Control serving ``data_root`` with Operations absent (one per test module)."""
    with live_control(data_root) as live:
        yield live
