"""The committed JSON Schema matches the code, and describes every type and command."""

from __future__ import annotations

import json
from pathlib import Path

from mimolo.protocol import COMMAND_NAMES, MESSAGE_TYPES
from mimolo.protocol.schema import SCHEMA_FILENAME, build_schema, render_schema

COMMITTED = Path(__file__).resolve().parents[2] / "schemas" / SCHEMA_FILENAME


def test_committed_schema_is_current() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == render_schema(), (
        "schemas/mimolo-agent-schema.json is stale: run `mimolo agent schema --write`"
    )


def test_schema_names_every_message_type_and_command() -> None:
    text = json.dumps(build_schema())
    for name in (*MESSAGE_TYPES, *COMMAND_NAMES):
        assert f'"{name}"' in text, name
    defs = build_schema()["$defs"]
    assert {"AgentMessage", "AgentCommand", "WidgetFrameData", "SequenceCommand"} <= set(defs)


def test_render_is_deterministic() -> None:
    assert render_schema() == render_schema()
    assert render_schema().endswith("}\n")
