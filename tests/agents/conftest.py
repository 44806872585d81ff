"""Fixtures for the built-in agent tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A private, empty MiMoLo data root."""
    path = tmp_path / "data"
    path.mkdir(mode=0o700)
    return path
