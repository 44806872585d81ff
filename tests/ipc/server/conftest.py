"""Fixtures for the server's tests over real Operations parts: a fresh data root."""

from __future__ import annotations

from pathlib import Path

import pytest

from mimolo.dataroot import DataRoot


@pytest.fixture
def data_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DataRoot:
    """A fresh, ensured data root that is also MIMOLO_DATA_DIR for subprocesses."""
    monkeypatch.setenv("MIMOLO_DATA_DIR", str(tmp_path / "root"))
    return DataRoot.resolve(tmp_path / "root").ensure()
