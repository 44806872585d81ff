"""The state snapshot: ``operations/state.json``, rewritten atomically every ~2 s and on change.

Readers (``mimolo status``, Control while the socket is down) get the last known state of
every instance without talking to Operations; ``read_status`` says whether Operations is
actually running (lock held and pid alive) so a stale snapshot is never shown as live.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

import msgspec
import psutil

from mimolo import APP_VERSION
from mimolo.dataroot import DataRoot, write_atomic
from mimolo.operations.agent_state import AgentState
from mimolo.operations.lock import running_pid

log = logging.getLogger(__name__)

SNAPSHOT_INTERVAL_S = 2.0


class OpsSnapshot(msgspec.Struct, kw_only=True):
    """Operations and every instance, as of ``written_at``."""

    version: str = APP_VERSION
    pid: int
    state: Literal["running", "stopped"]
    started_at: datetime
    written_at: datetime
    data_root: str
    ops_cpu_percent: float | None = None
    ops_rss_mb: float | None = None
    ledger_last_seq: int = 0
    instances: list[AgentState] = []


class StatusView(msgspec.Struct, kw_only=True):
    """What ``mimolo status`` shows: is Operations running, and its state if known.

    ``source`` says where the state came from: Operations' own answers over the control
    socket (``live``) or the last ``state.json`` (``snapshot``).
    """

    running: bool
    pid: int | None
    snapshot: OpsSnapshot | None
    source: Literal["live", "snapshot"] = "snapshot"


_decoder = msgspec.json.Decoder(OpsSnapshot)
_encoder = msgspec.json.Encoder()


def write_snapshot(data_root: DataRoot, snapshot: OpsSnapshot) -> None:
    write_atomic(data_root.state_path, _encoder.encode(snapshot) + b"\n")


def read_snapshot(data_root: DataRoot) -> OpsSnapshot | None:
    """The last snapshot, or None when there is none or it cannot be read."""
    try:
        return _decoder.decode(data_root.state_path.read_bytes())
    except (FileNotFoundError, msgspec.DecodeError):
        return None


def read_status(data_root: DataRoot) -> StatusView:
    """Whether Operations runs for this data root (lock held, pid alive) and its snapshot."""
    pid = running_pid(data_root.lock_path)
    return StatusView(running=pid is not None, pid=pid, snapshot=read_snapshot(data_root))


def live_view(
    status: dict[str, Any], agents: list[Any], *, now: datetime | None = None
) -> StatusView:
    """A status view from ``get_status`` and ``get_agent_states`` answers."""
    snapshot = msgspec.convert(
        {
            "version": status["app_version"],
            "pid": status["pid"],
            "state": "running",
            "started_at": status["started_at"],
            "written_at": now or datetime.now(UTC),
            "data_root": status["data_dir"],
            "ops_cpu_percent": status.get("ops_cpu_percent"),
            "ops_rss_mb": status.get("ops_rss_mb"),
            "ledger_last_seq": status.get("ledger_last_seq", 0),
            "instances": agents,
        },
        OpsSnapshot,
    )
    return StatusView(running=True, pid=snapshot.pid, snapshot=snapshot, source="live")


class SnapshotWriter:
    """Writes the snapshot periodically and soon after ``changed()`` is called."""

    def __init__(
        self,
        data_root: DataRoot,
        build: Callable[[], OpsSnapshot],
        *,
        interval_s: float = SNAPSHOT_INTERVAL_S,
        min_gap_s: float = 0.2,
    ) -> None:
        self.data_root = data_root
        self._build = build
        self.interval_s = interval_s
        self.min_gap_s = min_gap_s
        self._dirty = asyncio.Event()
        self.writes = 0

    def changed(self) -> None:
        """Something visible changed: write soon (coalesced)."""
        self._dirty.set()

    def write_now(self) -> None:
        try:
            write_snapshot(self.data_root, self._build())
            self.writes += 1
        except OSError as exc:
            log.warning("cannot write the state snapshot: %s", exc)

    async def run(self) -> None:
        """Until cancelled."""
        while True:
            self.write_now()
            self._dirty.clear()
            try:
                async with asyncio.timeout(self.interval_s):
                    await self._dirty.wait()
                await asyncio.sleep(self.min_gap_s)
            except TimeoutError:
                pass


class SelfMeter:
    """Operations' own CPU% and RSS (for the snapshot and the budget envelope)."""

    def __init__(self) -> None:
        self._proc = psutil.Process()
        self._proc.cpu_percent(None)

    def sample(self) -> tuple[float, float]:
        cpu = round(self._proc.cpu_percent(None), 2)
        rss = round(self._proc.memory_info().rss / 2**20, 2)
        return cpu, rss


def now_utc() -> datetime:
    return datetime.now(UTC)


__all__ = [
    "SNAPSHOT_INTERVAL_S",
    "OpsSnapshot",
    "SelfMeter",
    "SnapshotWriter",
    "StatusView",
    "read_snapshot",
    "read_status",
    "write_snapshot",
]
