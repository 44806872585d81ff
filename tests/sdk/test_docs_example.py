"""The agent printed in docs/writing-agents.md works as the page says."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

from mimolo.protocol import FlushCommand, SummaryMessage
from mimolo.sdk import BaseAgent
from mimolo.sdk.conformance import run_check
from mimolo.testing import AgentHarness
from sdk.corpus import PATIENT

DOC = Path(__file__).resolve().parents[2] / "docs" / "writing-agents.md"
MARKER = "<!-- example: folder_pulse.py"


def example_source() -> str:
    text = DOC.read_text(encoding="utf-8")
    after = text[text.index(MARKER) :]
    match = re.search(r"```python\n(.*?)```", after, re.S)
    assert match is not None
    return match.group(1)


@pytest.fixture
def example_file(tmp_path: Path) -> Path:
    path = tmp_path / "folder_pulse.py"
    path.write_text(example_source(), encoding="utf-8")
    return path


def load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("folder_pulse_doc_example", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_example_is_about_thirty_lines() -> None:
    assert 25 <= len(example_source().splitlines()) <= 45


def test_the_documented_unit_test_passes(example_file: Path, tmp_path: Path) -> None:
    agent_cls = load(example_file).FolderPulse
    assert issubclass(agent_cls, BaseAgent)
    watched = tmp_path / "watched"
    watched.mkdir()
    h = AgentHarness.create(agent_cls, {"folder": str(watched)})
    h.advance(2)  # baseline scan
    (watched / "a.txt").write_text("x")
    h.advance(2)
    summary = h.send(FlushCommand())[0]
    assert isinstance(summary, SummaryMessage) and summary.data["changes"] == 1
    assert summary.data["activity_signal"]["keep_alive"] is True


@pytest.mark.slow
def test_the_example_passes_the_checker(example_file: Path, tmp_path: Path) -> None:
    import msgspec

    options = msgspec.structs.replace(PATIENT, config={"folder": str(tmp_path)})
    report = run_check([sys.executable, str(example_file)], options)
    assert report.passed, report.rows
