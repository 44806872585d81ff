"""JSON Schema of the Agent JLP, generated from the msgspec types.

The committed copy lives at ``schemas/mimolo-agent-schema.json``; regenerate it with
``mimolo agent schema --write``. A test fails when the two differ.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec

from mimolo import PROTOCOL_VERSION
from mimolo.protocol.commands import AgentCommand
from mimolo.protocol.messages import AgentMessage

SCHEMA_FILENAME = "mimolo-agent-schema.json"


def _ref_template(name: str) -> str:
    return f"#/$defs/{name}"


def build_schema() -> dict[str, Any]:
    """One schema document: an agent line is ``AgentMessage``, a command ``AgentCommand``."""
    (message, command), defs = msgspec.json.schema_components(
        [AgentMessage, AgentCommand], ref_template="#/$defs/{name}"
    )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://mimolo.invalid/schemas/mimolo-agent-schema.json",
        "title": f"MiMoLo Agent JLP v{PROTOCOL_VERSION}",
        "description": (
            "One JSON object per line. Agent stdout lines match AgentMessage; "
            "Operations -> agent stdin lines match AgentCommand."
        ),
        "oneOf": [message, command],
        "$defs": {"AgentMessage": message, "AgentCommand": command, **defs},
    }


def render_schema() -> str:
    """The schema as committed: sorted keys, two-space indent, trailing newline."""
    return json.dumps(build_schema(), indent=2, sort_keys=True) + "\n"


__all__ = ["SCHEMA_FILENAME", "build_schema", "render_schema"]
