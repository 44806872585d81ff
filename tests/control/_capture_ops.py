"""A real ``mimolo ops`` running one capturing test agent (``tests/sdk/capture_agent.py``)
through the test-only extra templates, for the capture-pause tests of Control."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from mimolo.dataroot import DataRoot

from ._live import OpsProcess

AGENT: Final = Path(__file__).resolve().parents[1] / "sdk" / "capture_agent.py"
CONFIG: Final = """\
[settings]
heartbeat_interval_s = 1.0
agent_flush_interval_s = 2.0
stop_grace_s = 3.0

[instances.probe]
template = "capture_probe"
label = "Capture probe"
"""


def write_capture_setup(root: DataRoot) -> Path:
    """The config (one ``probe`` instance) and the template directory; returns the latter."""
    templates = root.root.parent / "capture-templates"
    templates.mkdir(mode=0o700, exist_ok=True)
    spec = {
        "plugin_id": "capture_probe",
        "label": "Capturing test agent",
        "version": "1.0.0",
        "argv": [sys.executable, str(AGENT)],
    }
    (templates / "capture_probe.json").write_text(json.dumps(spec))
    root.config_path.write_text(CONFIG)
    os.chmod(root.config_path, 0o600)
    return templates


@contextlib.contextmanager
def capture_ops(root: DataRoot) -> Iterator[OpsProcess]:
    ops = OpsProcess(root, extra_templates=write_capture_setup(root))
    try:
        yield ops.start()
    finally:
        ops.stop()
