"""Fixtures for the evidence tests: a fresh data root."""

from __future__ import annotations

from pathlib import Path

import pytest

from mimolo.dataroot import DataRoot


@pytest.fixture
def data_root(tmp_path: Path) -> DataRoot:
    return DataRoot.resolve(tmp_path / "root").ensure()
