"""Signed chain checkpoints beside the day files (``YYYYMMDD.checkpoint.json``, DESIGN §5).

One JSON document per day, ``{"checkpoints": [...]}``, rewritten atomically when an entry
is added (a few per day: the chain start or resume at each start, the day's close, each
shutdown). An unreadable file is moved aside, never overwritten, so nothing is lost.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from mimolo.dataroot import DataRoot, write_atomic
from mimolo.evidence.verify import read_checkpoints
from mimolo.operations.host_key import HostKey
from mimolo.protocol.chain import CHECKPOINT_VERSION, sign_checkpoint

log = logging.getLogger(__name__)


def checkpoint_path(data_root: DataRoot, day: date) -> Path:
    return data_root.evidence_dir / f"{day:%Y}" / f"{day:%Y%m%d}.checkpoint.json"


def read_entries(path: Path) -> list[dict[str, Any]]:
    """The entries of a checkpoint file ([] when there is none); ValueError if unreadable."""
    try:
        return read_checkpoints(path)
    except FileNotFoundError:
        return []


class CheckpointWriter:
    """Signs and appends checkpoints for one data root (used by the ledger only)."""

    def __init__(
        self,
        data_root: DataRoot,
        key: HostKey,
        *,
        host: str,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.data_root = data_root
        self.key = key
        self.host = host
        self._now = now

    def write(self, kind: str, day: date, seq: int, hashed: str, **extra: Any) -> dict[str, Any]:
        """Sign a checkpoint of ``kind`` for the record ``seq`` (hash ``hashed``) of ``day``."""
        doc: dict[str, Any] = {
            "v": CHECKPOINT_VERSION,
            "kind": kind,
            "host": self.host,
            "key_id": self.key.key_id,
            "day": day.isoformat(),
            "seq": seq,
            "hash": hashed,
            "time": self._now().astimezone(UTC).isoformat().replace("+00:00", "Z"),
            **extra,
        }
        signed = sign_checkpoint(doc, self.key.private)
        path = checkpoint_path(self.data_root, day)
        try:
            entries = read_entries(path)
        except (ValueError, UnicodeDecodeError):
            aside = path.with_name(f"{path.stem}.unreadable-{self._now():%Y%m%dT%H%M%S}.json")
            path.rename(aside)
            log.warning("%s was unreadable; moved aside to %s", path, aside.name)
            entries = []
        entries.append(signed)
        write_atomic(path, json.dumps({"checkpoints": entries}, indent=1).encode() + b"\n")
        return signed

    def latest(self, day: date) -> dict[str, Any] | None:
        """The newest readable checkpoint of ``day``, if any."""
        try:
            entries = read_entries(checkpoint_path(self.data_root, day))
        except (ValueError, UnicodeDecodeError):
            return None
        return entries[-1] if entries else None


__all__ = ["CheckpointWriter", "checkpoint_path", "read_entries"]
