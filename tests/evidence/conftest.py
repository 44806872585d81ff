"""Fixtures for the evidence tests: a fresh data root, a clean venv for pack verifiers."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import pytest

from evidence._packs import TIMEOUT_S
from mimolo.dataroot import DataRoot


@pytest.fixture
def data_root(tmp_path: Path) -> DataRoot:
    return DataRoot.resolve(tmp_path / "root").ensure()


@pytest.fixture(scope="session")
def clean_python() -> Iterator[Path]:
    """A venv with only the verifier's dependency (the installed ``cryptography`` version)."""
    with tempfile.TemporaryDirectory(prefix="mimolo-cleanvenv-") as tmp:
        wheels, venv = Path(tmp) / "wheels", Path(tmp) / "v"
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base, "-m", "venv", str(venv)], check=True, timeout=TIMEOUT_S)
        pin = f"cryptography=={version('cryptography')}"
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:", "-d",
             str(wheels), pin],
            check=True, timeout=TIMEOUT_S,
        )  # fmt: skip
        subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-index",
             "--find-links", str(wheels), pin],
            check=True, timeout=TIMEOUT_S,
        )  # fmt: skip
        python = venv / "bin" / "python"
        probe = subprocess.run(
            [str(python), "-c", "import mimolo"],
            capture_output=True,
            timeout=TIMEOUT_S,
            env={k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")},
        )
        assert probe.returncode != 0, "the clean venv must not see mimolo"
        yield python
