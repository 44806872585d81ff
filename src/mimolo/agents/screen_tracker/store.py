"""The capture store: files under the instance's ``artifacts/`` and a JSONL index.

Layout inside ``MIMOLO_INSTANCE_DIR`` (directories 0700, files 0600)::

    artifacts/YYYY/MM/DD/<artifact_id>.<ext>     the capture itself
    index/YYYYMMDD.jsonl                          one line per capture

``rel_path`` is relative to ``artifacts/`` - the form widgets use in
``mimolo://artifact/<rel_path>`` and Operations resolves for archive/restore.
"""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from mimolo.dataroot import open_private, write_atomic

DIR_MODE = 0o700
ARTIFACTS = "artifacts"
INDEX = "index"


class CaptureRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One stored capture, as indexed (and, minus the size, as referenced in summaries)."""

    artifact_id: str
    rel_path: str
    sha256: str
    bytes: int
    width: int
    height: int
    mime: str
    captured_at: datetime
    retention_class: str = "standard"

    def ref(self) -> dict[str, Any]:
        """The DESIGN §3 artifact reference carried by summaries (never the bytes)."""
        return {
            "artifact_id": self.artifact_id,
            "rel_path": self.rel_path,
            "sha256": self.sha256,
            "bytes": self.bytes,
            "mime": self.mime,
            "captured_at": self.captured_at.astimezone(UTC).isoformat(),
            "retention_class": self.retention_class,
        }


def private_dirs(base: Path, *parts: str) -> Path:
    """Create ``base/parts...`` one level at a time, each directory 0700."""
    path = base
    for part in ("", *parts):
        path = path / part if part else path
        path.mkdir(mode=DIR_MODE, exist_ok=True)
        os.chmod(path, DIR_MODE)
    return path


class CaptureStore:
    """Writes captures and their index; reads back the latest one."""

    def __init__(self, instance_dir: Path) -> None:
        self.instance_dir = instance_dir
        self._encoder = msgspec.json.Encoder()
        self._decoder = msgspec.json.Decoder(CaptureRecord)

    def save(
        self,
        data: bytes,
        *,
        extension: str,
        mime: str,
        width: int,
        height: int,
        captured_at: datetime,
        retention_class: str = "standard",
    ) -> CaptureRecord:
        """Store one encoded capture (0600) and index it."""
        sha = hashlib.sha256(data).hexdigest()
        at = captured_at.astimezone(UTC)
        artifact_id = f"{at:%Y%m%dT%H%M%S}Z-{sha[:12]}"
        folder = private_dirs(self.instance_dir, ARTIFACTS, f"{at:%Y}", f"{at:%m}", f"{at:%d}")
        name = f"{artifact_id}.{extension}"
        if not (folder / name).exists():  # same second, same bytes: already stored
            write_atomic(folder / name, data)
        record = CaptureRecord(
            artifact_id=artifact_id,
            rel_path=f"{at:%Y}/{at:%m}/{at:%d}/{name}",
            sha256=sha,
            bytes=len(data),
            width=width,
            height=height,
            mime=mime,
            captured_at=at,
            retention_class=retention_class,
        )
        index_dir = private_dirs(self.instance_dir, INDEX)
        fd = open_private(index_dir / f"{at:%Y%m%d}.jsonl")
        try:
            os.write(fd, self._encoder.encode(record) + b"\n")
        finally:
            os.close(fd)
        return record

    def path_of(self, record: CaptureRecord) -> Path:
        """Where a record's file lives."""
        return self.instance_dir / ARTIFACTS / record.rel_path

    def latest(self) -> CaptureRecord | None:
        """The newest indexed capture (the last valid line of the newest index file)."""
        index_dir = self.instance_dir / INDEX
        try:
            files = sorted(index_dir.glob("*.jsonl"), reverse=True)
        except OSError:
            return None
        for path in files:
            try:
                lines = path.read_bytes().splitlines()
            except OSError:
                continue
            for line in reversed(lines):
                try:
                    return self._decoder.decode(line)
                except msgspec.DecodeError:
                    continue  # a torn or foreign line: skip it
        return None

    def read_index(self, day: datetime) -> list[CaptureRecord]:
        """Every valid record of one day's index."""
        path = self.instance_dir / INDEX / f"{day.astimezone(UTC):%Y%m%d}.jsonl"
        out: list[CaptureRecord] = []
        try:
            lines = path.read_bytes().splitlines()
        except OSError:
            return out
        for line in lines:
            try:
                out.append(self._decoder.decode(line))
            except msgspec.DecodeError:
                continue
        return out


__all__ = ["ARTIFACTS", "INDEX", "CaptureRecord", "CaptureStore", "private_dirs"]
