"""Deterministic synthetic evidence in the exact ledger format, for demos, tests and benchmarks.

Three clients each have a folder-activity agent (active, keep-alive while files change) and
one screen tracker runs passively all working day. Work days have blocks on one client at
a time, idle minutes, short and long gaps and a lunch break. With ``desktop`` set, a
desktop_activity instance also reports the applications of each working minute (and idle
windows in the gaps), so the timeline's application lanes have something to show. The
same seed, day count and end date always produce the same bytes.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec

from mimolo.dataroot import DataRoot, write_atomic
from mimolo.protocol.codec import encode_message
from mimolo.protocol.evidence import wrap_summary
from mimolo.protocol.messages import SummaryMessage

DEMO_CLIENTS: tuple[str, ...] = ("acme", "globex", "initech")
SCREEN_INSTANCE = "screen"
DESKTOP_INSTANCE = "desktop"
DESKTOP_PLUGIN = "desktop_activity"
# The application each client's work happens in, and what else is open on the side.
_CLIENT_APPS = {"acme": "code", "globex": "blender", "initech": "libreoffice"}
_SIDE_APPS = ("firefox", "thunderbird", "xterm", "slack")
DEMO_HOST = "demo-host"
_AGENT_VERSION = "0.1.0"


class DemoSpec(msgspec.Struct, frozen=True, kw_only=True):
    """What to generate: ``days`` days ending on ``end`` (inclusive)."""

    days: int
    seed: int
    end: date
    interval_s: int = 60
    weekends: bool = False
    desktop: bool = False


class DemoStats(msgspec.Struct, frozen=True, kw_only=True):
    files: int
    summaries: int
    first_day: date
    last_day: date


def folder_instance(client: str) -> str:
    return f"folders-{client}"


class _Event(msgspec.Struct, array_like=True, gc=False):
    received: float
    instance: str
    start: float
    end: float
    active: bool
    keep_alive: bool | None
    client: str | None
    amount: int
    apps: tuple[tuple[str, float], ...] | None = None


def _plan_day(day: date, spec: DemoSpec) -> list[_Event]:
    """All summaries of one day (unsorted); seeded by (seed, day) so ranges overlap stably."""
    rng = random.Random(f"{spec.seed}:{day.isoformat()}")
    base = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
    weekend = day.weekday() >= 5
    if weekend and not spec.weekends and rng.random() > 0.1:
        return []
    step = spec.interval_s
    t = base + 8 * 3600 + rng.randrange(0, 90 * 60, step)
    day_end = base + (11 if weekend and not spec.weekends else 17) * 3600 + rng.randrange(0, 7200)
    lunch_at = base + 12 * 3600 + rng.randrange(0, 3600)
    work_start = t
    events: list[_Event] = []
    lunched = False
    while t < day_end:
        client = rng.choice(DEMO_CLIENTS)
        block_end = min(day_end, t + rng.randrange(20, 121) * 60)
        while t < block_end:
            if rng.random() < 0.03:  # a long idle stretch inside the block
                t += rng.randrange(12, 26) * 60
                continue
            changed = rng.random() > 0.15
            amount = rng.randrange(1, 12) if changed else 0
            jitter = rng.random() * 1.5 + 0.05
            events.append(
                _Event(
                    t + step + jitter,
                    folder_instance(client),
                    t,
                    t + step,
                    True,
                    changed,
                    client,
                    amount,
                )
            )
            t += step
        t += rng.randrange(2, 46) * 60  # gap: some within the cooldown, some beyond
        if not lunched and t >= lunch_at:
            t += rng.randrange(30, 61) * 60
            lunched = True
    s = work_start
    while s < t:
        jitter = rng.random() * 1.5 + 0.05
        events.append(_Event(s + step + jitter, SCREEN_INSTANCE, s, s + step, False, None, None, 1))
        s += step
    if spec.desktop:
        events.extend(_desktop_day(day, spec, events))
    return events


def _desktop_day(day: date, spec: DemoSpec, events: list[_Event]) -> list[_Event]:
    """Desktop summaries for one day: the apps of each working minute, idle in the gaps.

    A generator of its own (seeded by day) so the other agents' bytes do not change.
    """
    rng = random.Random(f"{spec.seed}:{day.isoformat()}:desktop")
    work = sorted((e for e in events if e.active), key=lambda e: e.start)
    out: list[_Event] = []
    previous_end: float | None = None
    for ev in work:
        if previous_end is not None and ev.start > previous_end:
            out.append(
                _Event(
                    ev.start + 0.2, DESKTOP_INSTANCE, previous_end, ev.start, False, False, None, 0
                )
            )
        length = ev.end - ev.start
        main = _CLIENT_APPS.get(ev.client or "", "xterm")
        main_s = round(length * rng.uniform(0.6, 1.0), 1)
        apps = [(main, main_s)]
        if length - main_s >= 1:
            apps.append((rng.choice(_SIDE_APPS), round(length - main_s, 1)))
        out.append(
            _Event(
                ev.end + 0.3, DESKTOP_INSTANCE, ev.start, ev.end, True, True, None, 0, tuple(apps)
            )
        )
        previous_end = ev.end
    return out


def desktop_data(
    start: datetime,
    end: datetime,
    applications: list[tuple[str, float]],
    *,
    state: str = "active",
    other_s: float = 0.0,
) -> dict[str, Any]:
    """``data`` of a desktop_activity summary in the agent's format (for demos and tests)."""
    active = state == "active"
    length = (end - start).total_seconds()
    used = sum(s for _, s in applications) + other_s
    return {
        "window": {"start": start, "end": end},
        "activity_signal": {
            "mode": "active" if active else "passive",
            "keep_alive": active,
            "reason": state,
        },
        "backend": "x11",
        "state": state,
        "active_s": length if active else 0.0,
        "idle_s": length if state == "idle" else 0.0,
        "paused_s": length if state == "paused" else 0.0,
        "excluded_s": max(0.0, length - used) if active else 0.0,
        "applications": [
            {
                "application": name,
                "executable": name,
                "seconds": seconds,
                "titles": [{"title": f"{name} window", "seconds": seconds}],
            }
            for name, seconds in applications
        ],
        "other_s": other_s,
        "current": {"application": applications[-1][0], "title": f"{applications[-1][0]} window"}
        if applications
        else None,
    }


def _raw_summary(ev: _Event) -> bytes:
    start = datetime.fromtimestamp(ev.start, UTC)
    end = datetime.fromtimestamp(ev.end, UTC)
    if ev.instance == DESKTOP_INSTANCE:
        apps = list(ev.apps or ())
        data = desktop_data(start, end, apps, state="active" if ev.active else "idle")
        label = "Desktop"
    elif ev.active:
        data = {
            "activity_signal": {
                "mode": "active",
                "keep_alive": ev.keep_alive,
                "reason": "files_changed" if ev.keep_alive else "no_changes",
            },
            "window": {"start": start, "end": end},
            "client_id": ev.client,
            "files_changed": ev.amount,
        }
        label = f"Folders ({ev.client})"
    else:
        data = {
            "activity_signal": {"mode": "passive", "keep_alive": None, "reason": "screenshot"},
            "window": {"start": start, "end": end},
            "captures": ev.amount,
        }
        label = "Screen"
    msg = SummaryMessage(
        timestamp=end,
        agent_id=ev.instance,
        agent_label=label,
        agent_version=_AGENT_VERSION,
        protocol_version="0.4",
        data=data,
    )
    return encode_message(msg)


def _plugin_and_label(ev: _Event) -> tuple[str, str]:
    if ev.instance == DESKTOP_INSTANCE:
        return DESKTOP_PLUGIN, "Desktop"
    if ev.active:
        return "client_folder_activity", f"Folders ({ev.client})"
    return "screen_tracker", "Screen"


def generate(spec: DemoSpec) -> Iterator[tuple[date, bytes]]:
    """Yield ``(day, ledger file bytes)`` for each day with evidence, in day order."""
    if spec.days < 1:
        raise ValueError("days must be at least 1")
    first = spec.end - timedelta(days=spec.days - 1)
    events: list[_Event] = []
    for i in range(spec.days):
        events.extend(_plan_day(first + timedelta(days=i), spec))
    events.sort(key=lambda e: (e.received, e.instance))
    id_rng = random.Random(spec.seed)
    current: date | None = None
    lines: list[bytes] = []
    for seq, ev in enumerate(events, start=1):
        received = datetime.fromtimestamp(ev.received, UTC)
        day = received.date()
        if current is not None and day != current:
            yield current, b"".join(lines)
            lines = []
        current = day
        plugin, label = _plugin_and_label(ev)
        lines.append(
            wrap_summary(
                seq=seq,
                record_id=f"{id_rng.getrandbits(128):032x}",
                received_at=received,
                plugin_id=plugin,
                instance_id=ev.instance,
                instance_label=label,
                host=DEMO_HOST,
                raw_summary=_raw_summary(ev),
            )
        )
    if current is not None and lines:
        yield current, b"".join(lines)


def write_demo(data_root: DataRoot, spec: DemoSpec) -> DemoStats:
    """Write the generated ledgers (0600, atomically), replacing same-day demo files."""
    files = summaries = 0
    first = last = spec.end
    for day, payload in generate(spec):
        write_atomic(data_root.evidence_file(day), payload)
        files += 1
        summaries += payload.count(b"\n")
        first = min(first, day) if files > 1 else day
        last = day
    return DemoStats(files=files, summaries=summaries, first_day=first, last_day=last)


__all__ = [
    "DEMO_CLIENTS",
    "DEMO_HOST",
    "DESKTOP_INSTANCE",
    "DESKTOP_PLUGIN",
    "SCREEN_INSTANCE",
    "DemoSpec",
    "DemoStats",
    "desktop_data",
    "folder_instance",
    "generate",
    "write_demo",
]
