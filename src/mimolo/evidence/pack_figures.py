"""Re-deriving an invoice's figures from ledger records, independently of MiMoLo.

Standard library only; shipped verbatim in every pack's ``verify/``. The rule (DESIGN §6):
a summary whose ``activity_signal`` is active with ``keep_alive: true`` covers its
``window`` (or its timestamp); activity starting within the cooldown of the running end
joins the segment, which ends at its last activity; everything is clipped to the invoice
period. Hours are per UTC day rounded half up to 0.01 h, amounts to 0.01.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

UTC = timezone.utc  # noqa: UP017 (kept for Pythons before 3.11)
CENT = Decimal("0.01")


def parse_time(value: Any) -> datetime:
    """An ISO-8601 time (``Z`` accepted; naive times are UTC); ValueError otherwise."""
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a time")
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _epoch(value: Any) -> float:
    seconds: float = parse_time(value).timestamp()
    return seconds


def activity_span(line: dict[str, Any], policy: dict[str, Any]) -> tuple[float, float, str | None]:
    """``(start, end, client)`` of a record that marks activity; ValueError if it does not."""
    summary = line.get("record")
    if not isinstance(summary, dict) or summary.get("type") != "summary":
        raise ValueError("not a summary record")
    data: dict[str, Any] = summary["data"] if isinstance(summary.get("data"), dict) else {}
    signal = data.get("activity_signal")
    if not isinstance(signal, dict) or signal.get("keep_alive") is not True:
        raise ValueError("no activity_signal with keep_alive true")
    active = policy.get("active_instances")
    if active is None and signal.get("mode") != "active":
        raise ValueError("its activity_signal is not active")
    if active is not None and line.get("instance_id") not in active:
        raise ValueError("its instance is not one the policy counts as active")
    window = data.get("window")
    if isinstance(window, dict):
        start, end = _epoch(window.get("start")), _epoch(window.get("end"))
    else:
        start = end = _epoch(summary.get("timestamp"))
    if end < start:
        raise ValueError("its window ends before it starts")
    client = data.get("client_id") or policy.get("client_of_instance", {}).get(
        line.get("instance_id")
    )
    return start, end, client if isinstance(client, str) else None


def derive_segment(
    spans: list[tuple[float, float]], cooldown_s: float, lo: float, hi: float
) -> tuple[datetime, datetime]:
    """One segment from its activity spans: each must start within the cooldown of the
    running end; the segment ends at its last activity, clipped to ``[lo, hi]``."""
    spans = sorted(spans)
    end = spans[0][1]
    for start, stop in spans[1:]:
        if start - end > cooldown_s:
            raise ValueError("its records are more than the cooldown apart (two segments)")
        end = max(end, stop)
    first = datetime.fromtimestamp(max(spans[0][0], lo), UTC)
    return first, datetime.fromtimestamp(min(end, hi), UTC)


def day_seconds(segments: list[tuple[datetime, datetime]]) -> dict[date, float]:
    """Seconds of work per UTC day (a segment crossing midnight is split at it)."""
    out: dict[date, float] = {}
    for start, end in sorted(segments):
        a, b = start.timestamp(), end.timestamp()
        pieces: list[tuple[date, float]] = []
        index = int(a // 86400)
        while True:
            day_end = (index + 1) * 86400.0
            pieces.append((date(1970, 1, 1) + timedelta(days=index), max(0.0, min(b, day_end) - a)))
            if b <= day_end:
                break
            a, index = day_end, index + 1
        if len(pieces) == 1:
            pieces = [(pieces[0][0], (end - start).total_seconds())]
        for day, seconds in pieces:
            out[day] = out.get(day, 0.0) + seconds
    return out


def invoice_figures(days: dict[date, float], rate: Decimal) -> dict[str, Any]:
    """Hours per day to 0.01 h (half up), amounts to 0.01, and their sums."""
    lines = []
    for day, seconds in sorted(days.items()):
        hours = (Decimal(repr(seconds)) / 3600).quantize(CENT, rounding=ROUND_HALF_UP)
        amount = (hours * rate).quantize(CENT, rounding=ROUND_HALF_UP)
        lines.append({"day": day.isoformat(), "hours": str(hours), "amount": str(amount)})
    hours_sum = sum((Decimal(x["hours"]) for x in lines), Decimal("0.00"))
    amount_sum = sum((Decimal(x["amount"]) for x in lines), Decimal("0.00"))
    return {"hours": str(hours_sum), "amount": str(amount_sum), "lines": lines}


__all__ = ["activity_span", "day_seconds", "derive_segment", "invoice_figures", "parse_time"]
