"""Answers that list every instance always fit the response bound: trim per item, then page.

The supervisor caps what an agent can put into its state; this is the IPC layer's own
backstop, so no instance content and no number of instances can make ``get_agent_states``
or ``get_agent_instances`` exceed ``MAX_RESPONSE_BYTES``. A trimmed item names what was cut
in ``truncated``; a list that does not fit one answer is paged (``offset``/``limit`` in,
``next_offset`` out). Pure functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

import msgspec

from mimolo.errors import InvalidField
from mimolo.ipc.types import MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES

METRICS_MAX_KEYS: Final = 64
METRICS_MAX_BYTES: Final = 8 * 1024
TEXT_MAX_CHARS: Final = 2048
ITEM_MAX_BYTES: Final = 16 * 1024
# The envelope echoes a client-chosen request_id (up to a whole request line), so leave
# room for it and the other envelope keys around the page.
PAGE_BUDGET_BYTES: Final = MAX_RESPONSE_BYTES - MAX_REQUEST_BYTES - 8 * 1024
MAX_PAGE_LIMIT: Final = 10_000
TRUNCATED: Final = "truncated"
METRICS_MARKER: Final = "_truncated"

# Fields a reader needs to tell instances apart and to decode a state; never dropped.
IDENTITY_FIELDS: Final = frozenset(
    {"instance_id", "plugin_id", "instance_label", "enabled", "state", "health"}
)

_encoder: Final = msgspec.json.Encoder()


class PageParams(msgspec.Struct, forbid_unknown_fields=True):
    """Optional paging of a list answer: items ``offset`` … ``offset + limit``."""

    offset: int = 0
    limit: int | None = None


def size_of(value: Any) -> int:
    """Encoded JSON size (something that cannot be encoded counts as too large)."""
    try:
        return len(_encoder.encode(value))
    except (TypeError, ValueError, OverflowError, RecursionError, msgspec.EncodeError):
        return MAX_RESPONSE_BYTES + 1


def to_record(item: Any) -> dict[str, Any]:
    """A state struct (or dict) as plain JSON-ready builtins."""
    built = msgspec.to_builtins(item)
    if not isinstance(built, dict):
        raise TypeError(f"expected a mapping or a struct, got {type(item).__name__}")
    return built


def bound_metrics(metrics: Mapping[Any, Any]) -> tuple[dict[str, Any], bool]:
    """``(metrics, False)`` within the caps, else the keys that fit plus ``_truncated``."""
    if len(metrics) <= METRICS_MAX_KEYS and size_of(metrics) <= METRICS_MAX_BYTES:
        return dict(metrics), False
    kept: dict[str, Any] = {}
    used = 2 + len(METRICS_MARKER) + 8
    for key, value in metrics.items():
        if len(kept) >= METRICS_MAX_KEYS - 1:
            break
        if key == METRICS_MARKER or not isinstance(key, str) or len(key) > 128:
            continue
        cost = size_of(key) + 2 + size_of(value)
        if used + cost <= METRICS_MAX_BYTES:
            kept[key] = value
            used += cost
    kept[METRICS_MARKER] = True
    return kept, True


def bound_text(text: str) -> str:
    """``text`` cut to ``TEXT_MAX_CHARS`` with a note of how much was left out."""
    if len(text) <= TEXT_MAX_CHARS:
        return text
    return f"{text[:TEXT_MAX_CHARS]}… [{len(text) - TEXT_MAX_CHARS} more characters]"


def bound_item(record: dict[str, Any]) -> dict[str, Any]:
    """One instance record within ``ITEM_MAX_BYTES``; what was cut is named in ``truncated``.

    Metrics beyond their caps keep the keys that fit; long texts are cut; if the record is
    still too large, its largest non-identity fields are dropped (metrics left as the
    marker alone).
    """
    return _bounded(record)[0]


def _within_caps(record: dict[str, Any], size: int) -> bool:
    """The common case, checked with one encode: nothing in ``record`` needs cutting."""
    metrics = record.get("metrics")
    return (
        size <= METRICS_MAX_BYTES
        and TRUNCATED not in record
        and (not isinstance(metrics, dict) or len(metrics) <= METRICS_MAX_KEYS)
        and not any(isinstance(v, str) and len(v) > TEXT_MAX_CHARS for v in record.values())
    )


def _bounded(record: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """``bound_item`` and the encoded size of its result."""
    size = size_of(record)
    if _within_caps(record, size):
        return record, size
    out = dict(record)
    cut: list[str] = [str(x) for x in out.pop(TRUNCATED, None) or [] if isinstance(x, str)]
    metrics = out.get("metrics")
    if isinstance(metrics, dict):
        out["metrics"], trimmed = bound_metrics(metrics)
        if trimmed:
            cut.append("metrics")
    for key, value in list(out.items()):
        if isinstance(value, str) and len(value) > TEXT_MAX_CHARS:
            out[key] = bound_text(value)
            cut.append(key)
    if size_of(out) > ITEM_MAX_BYTES:
        sizes = sorted(
            ((size_of(v), k) for k, v in out.items() if k not in IDENTITY_FIELDS), reverse=True
        )
        for _, key in sizes:
            if key == "metrics":
                out[key] = {METRICS_MARKER: True}
            else:
                del out[key]
            cut.append(key)
            if size_of(out) <= ITEM_MAX_BYTES:
                break
    if size_of(out) > ITEM_MAX_BYTES:  # identity fields alone too large: keep the id only
        out = {k: out[k] for k in ("instance_id",) if k in out}
        cut.append("*")
    if cut:
        out[TRUNCATED] = sorted(set(cut))
    return out, size_of(out)


def check_page(params: PageParams) -> None:
    """Refuse a negative offset or an unusable limit with a clear field error."""
    if params.offset < 0:
        raise InvalidField("offset", "must be 0 or more")
    if params.limit is not None and not 1 <= params.limit <= MAX_PAGE_LIMIT:
        raise InvalidField("limit", f"must be between 1 and {MAX_PAGE_LIMIT}")


def paged(
    key: str,
    items: Iterable[Any],
    params: PageParams,
    *,
    budget: int = PAGE_BUDGET_BYTES,
) -> dict[str, Any]:
    """``{key: [...], "total", "offset", "next_offset"}``: bounded items, as many as fit.

    ``next_offset`` is ``None`` on the last page. Every page holds at least one item (an
    item is far below the budget), so following ``next_offset`` always ends.
    """
    check_page(params)
    records = [_bounded(to_record(item)) for item in items]
    total = len(records)
    end = total if params.limit is None else min(total, params.offset + params.limit)
    page: list[dict[str, Any]] = []
    used = 2
    index = params.offset
    while index < end:
        record, size = records[index]
        if page and used + size + 1 > budget:
            break
        page.append(record)
        used += size + 1
        index += 1
    return {
        key: page,
        "total": total,
        "offset": params.offset,
        "next_offset": index if index < total else None,
    }


__all__ = [
    "IDENTITY_FIELDS",
    "ITEM_MAX_BYTES",
    "METRICS_MARKER",
    "METRICS_MAX_BYTES",
    "METRICS_MAX_KEYS",
    "PAGE_BUDGET_BYTES",
    "TEXT_MAX_CHARS",
    "TRUNCATED",
    "PageParams",
    "bound_item",
    "bound_metrics",
    "bound_text",
    "check_page",
    "paged",
    "size_of",
    "to_record",
]
