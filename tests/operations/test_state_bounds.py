"""What one agent can put into shared answers is capped."""

from __future__ import annotations

import msgspec

from mimolo.operations.state_bounds import (
    MAX_MESSAGE_CHARS,
    MAX_METRIC_KEYS,
    MAX_METRICS_BYTES,
    TRUNCATED_KEY,
    bound_message,
    bound_metrics,
)


def size(value: object) -> int:
    return len(msgspec.json.encode(value))


def test_small_metrics_pass_unchanged() -> None:
    metrics = {"cpu_percent_recent": 0.1, "queue": 3}
    assert bound_metrics(metrics) is metrics


def test_a_huge_value_is_left_out_and_marked() -> None:
    metrics = {"queue": 1, "blob": "x" * 256 * 1024, "mem_mb": 12.5}
    out = bound_metrics(metrics)
    assert out == {"queue": 1, "mem_mb": 12.5, TRUNCATED_KEY: True}


def test_too_many_keys_are_cut_within_the_caps() -> None:
    out = bound_metrics({f"k{i}": i for i in range(10_000)})
    assert out[TRUNCATED_KEY] is True
    assert len(out) <= MAX_METRIC_KEYS
    assert size(out) <= MAX_METRICS_BYTES


def test_deep_values_never_raise() -> None:
    deep: object = 1
    for _ in range(5000):
        deep = [deep]
    out = bound_metrics({"deep": deep, "ok": 1})
    assert out == {"ok": 1, TRUNCATED_KEY: True}


def test_messages_are_cut_and_non_text_is_none() -> None:
    assert bound_message("short") == "short"
    cut = bound_message("y" * 5000)
    assert cut is not None and cut.startswith("y" * MAX_MESSAGE_CHARS) and "more characters" in cut
    assert bound_message(42) is None
