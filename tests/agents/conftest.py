"""Fixtures for the built-in agent tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mimolo.testing import xvfb_display


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A private, empty MiMoLo data root."""
    path = tmp_path / "data"
    path.mkdir(mode=0o700)
    return path


@pytest.fixture(scope="module")
def xvfb() -> Iterator[str]:
    """A private X display with a white root window (redacted pixels stand out as black)
    for the module; yields its DISPLAY value."""
    with xvfb_display(white=True) as display:
        yield display
