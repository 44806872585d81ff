"""Caps on what one agent can put into the state Operations shares (IPC answers, snapshot).

An agent decides its own heartbeat metrics and messages; without a cap one agent's 256 KiB
metrics made every ``get_agent_states`` answer too large for everyone. Pure functions.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

MAX_METRIC_KEYS: Final = 64
MAX_METRICS_BYTES: Final = 4096
MAX_KEY_CHARS: Final = 64
MAX_MESSAGE_CHARS: Final = 1024
TRUNCATED_KEY: Final = "_truncated"

_encoder = msgspec.json.Encoder()


def _size(value: object) -> int:
    try:
        return len(_encoder.encode(value))
    except (TypeError, msgspec.EncodeError, RecursionError, OverflowError):
        return MAX_METRICS_BYTES + 1


def bound_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    """``metrics`` if within the caps, else the keys that fit plus ``_truncated: true``.

    Keys are kept in the agent's order while the encoded total stays under the cap; a
    value too large (or too deep to encode) is left out, never cut into something else.
    """
    if len(metrics) <= MAX_METRIC_KEYS and _size(metrics) <= MAX_METRICS_BYTES:
        return metrics
    kept: dict[str, Any] = {}
    used = 2 + len(TRUNCATED_KEY) + 8  # braces and the marker
    for key, value in metrics.items():
        if len(kept) >= MAX_METRIC_KEYS - 1:
            break
        if not isinstance(key, str) or len(key) > MAX_KEY_CHARS:
            continue
        cost = len(key) + 4 + _size(value)
        if used + cost > MAX_METRICS_BYTES:
            continue
        kept[key] = value
        used += cost
    kept[TRUNCATED_KEY] = True
    return kept


def bound_message(text: object) -> str | None:
    """A human message from an agent, cut to ``MAX_MESSAGE_CHARS`` (None if not text)."""
    if not isinstance(text, str):
        return None
    if len(text) <= MAX_MESSAGE_CHARS:
        return text
    return f"{text[:MAX_MESSAGE_CHARS]}… [{len(text) - MAX_MESSAGE_CHARS} more characters]"


__all__ = [
    "MAX_MESSAGE_CHARS",
    "MAX_METRICS_BYTES",
    "MAX_METRIC_KEYS",
    "TRUNCATED_KEY",
    "bound_message",
    "bound_metrics",
]
