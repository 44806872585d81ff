"""Package source trees and manifests for the tests: real files, real zips, real keys."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import msgspec

from mimolo.packages.build import SOURCE_FILE

SOURCE_TOML = """\
plugin_id = "hello_sh"
version = "{version}"
label = "Hello"
description = "A shell agent"
entry = ["sh", "agent.sh"]
protocol = ">=0.3,<0.5"
activity_mode = "active"

[[params]]
name = "interval_s"
type = "float"
default = 5.0
minimum = 0.5
"""


def make_source(root: Path, *, version: str = "1.0.0", body: str = "echo hello\n") -> Path:
    """A package source folder with one script and one executable helper."""
    src = root / f"src-{version}"
    (src / "lib").mkdir(parents=True, exist_ok=True)
    (src / SOURCE_FILE).write_text(SOURCE_TOML.format(version=version), encoding="utf-8")
    (src / "agent.sh").write_text(body, encoding="utf-8")
    (src / "lib" / "helper").write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    os.chmod(src / "lib" / "helper", 0o755)
    return src


def manifest_dict(**overrides: Any) -> dict[str, Any]:
    """A valid manifest as plain data; ``overrides`` replace top-level fields."""
    data = b"echo hi\n"
    doc: dict[str, Any] = {
        "format": 1,
        "plugin_id": "hello_sh",
        "version": "1.0.0",
        "label": "Hello",
        "entry": ["sh", "agent.sh"],
        "protocol": ">=0.3,<0.5",
        "files": {
            "agent.sh": {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)},
            "bin/run": {"sha256": "ab" * 32, "bytes": 10, "executable": True},
        },
    }
    doc.update(overrides)
    return doc


def encode(doc: dict[str, Any]) -> bytes:
    return msgspec.json.encode(doc)
