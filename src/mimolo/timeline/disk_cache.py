"""On-disk copies of decoded closed days, so a new process (the CLI) skips JSON decoding.

One file per ledger file under ``<root>/control/cache/timeline/`` (0600 in a 0700 dir),
columnar: a string table plus packed arrays of starts, ends, modes and string indices,
loaded several times faster than the ledger decodes. Each file records the ledger file's
identity (path, size, mtime_ns, inode); a mismatch is a miss, so it is never served stale.
Any problem reading or writing the cache is a miss and a log line, never an error.
"""

from __future__ import annotations

import hashlib
import logging
from array import array
from pathlib import Path

import msgspec

from mimolo.dataroot import DataRoot, ensure_private_dir, write_atomic
from mimolo.timeline.identity import FileIdentity
from mimolo.timeline.models import TimelineSummary
from mimolo.timeline.reader import ReadWarning

logger = logging.getLogger(__name__)

FORMAT_VERSION = 3  # 3: the ledger seq of each summary
_MODES = ("passive", "active")
_KEEP: tuple[bool | None, ...] = (None, False, True)


class _Columns(msgspec.Struct, kw_only=True):
    version: int
    identity: FileIdentity
    strings: list[str]
    index_type: str
    instance: bytes
    plugin: bytes
    client: bytes  # 0 = no client, else 1 + string index
    start: bytes
    end: bytes
    mode: bytes
    keep_alive: bytes
    seq: bytes
    warnings: list[tuple[str, int, str]]


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(_Columns)


DISK_CACHE_DIR = "timeline"
"""The decoded days' directory in a cache directory (``DataRoot.cache_dir``)."""


def cache_dir(data_root: DataRoot) -> Path:
    return data_root.cache_dir / DISK_CACHE_DIR


class DiskCache:
    """Columnar day files keyed by the ledger file's identity."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._directory_ready = False

    def _file(self, ledger_path: str) -> Path:
        name = hashlib.sha256(ledger_path.encode()).hexdigest()[:32]
        return self.directory / f"{name}.tlcache"

    def load(
        self, identity: FileIdentity
    ) -> tuple[list[TimelineSummary], list[ReadWarning]] | None:
        """The cached day, or ``None`` when absent, stale or unreadable."""
        path = self._file(identity.path)
        try:
            cols = _decoder.decode(path.read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, msgspec.DecodeError) as exc:
            logger.info("ignoring unreadable timeline cache %s: %s", path, exc)
            return None
        if cols.version != FORMAT_VERSION or cols.identity != identity:
            return None
        try:
            return _summaries(cols), [ReadWarning(p, n, r) for p, n, r in cols.warnings]
        except (ValueError, IndexError) as exc:
            logger.info("ignoring corrupt timeline cache %s: %s", path, exc)
            return None

    def store(
        self,
        identity: FileIdentity,
        summaries: list[TimelineSummary],
        warnings: list[ReadWarning],
    ) -> None:
        """Write the day (best effort)."""
        try:
            if not self._directory_ready:
                ensure_private_dir(self.directory)  # missing ancestors are made 0700 too
                self._directory_ready = True
            write_atomic(
                self._file(identity.path),
                _encode(identity, summaries, warnings),
                durable=False,  # a torn copy fails to decode: a miss
            )
        except OSError as exc:
            logger.info("could not write timeline cache for %s: %s", identity.path, exc)


def _encode(
    identity: FileIdentity,
    summaries: list[TimelineSummary],
    warnings: list[ReadWarning],
) -> bytes:
    table: dict[str, int] = {}
    for s in summaries:
        table.setdefault(s.instance_id, len(table))
        table.setdefault(s.plugin_id, len(table))
        if s.client_id is not None:
            table.setdefault(s.client_id, len(table))
    index_type = "H" if len(table) < 65535 else "I"
    cols = _Columns(
        version=FORMAT_VERSION,
        identity=identity,
        strings=list(table),
        index_type=index_type,
        instance=array(index_type, [table[s.instance_id] for s in summaries]).tobytes(),
        plugin=array(index_type, [table[s.plugin_id] for s in summaries]).tobytes(),
        client=array(
            index_type, [0 if s.client_id is None else table[s.client_id] + 1 for s in summaries]
        ).tobytes(),
        start=array("d", [s.start for s in summaries]).tobytes(),
        end=array("d", [s.end for s in summaries]).tobytes(),
        mode=bytes(1 if s.mode == "active" else 0 for s in summaries),
        keep_alive=bytes(_KEEP.index(s.keep_alive) for s in summaries),
        seq=array("q", [s.seq for s in summaries]).tobytes(),
        warnings=[(w.path, w.line, w.reason) for w in warnings],
    )
    return _encoder.encode(cols)


def int_column(typecode: str, data: bytes) -> array[int]:
    """A packed column of integers back from its bytes (this and the review's store)."""
    out: array[int] = array(typecode)
    out.frombytes(data)
    return out


def float_column(data: bytes) -> array[float]:
    """A packed column of doubles back from its bytes."""
    out: array[float] = array("d")
    out.frombytes(data)
    return out


def _summaries(cols: _Columns) -> list[TimelineSummary]:
    if cols.index_type not in ("H", "I"):
        raise ValueError(f"unknown index type {cols.index_type!r}")
    strings = cols.strings
    clients: list[str | None] = [None, *strings]
    columns = (
        [strings[i] for i in int_column(cols.index_type, cols.instance)],
        [strings[i] for i in int_column(cols.index_type, cols.plugin)],
        float_column(cols.start),
        float_column(cols.end),
        [_MODES[m] for m in cols.mode],
        [_KEEP[k] for k in cols.keep_alive],
        [clients[c] for c in int_column(cols.index_type, cols.client)],
        int_column("q", cols.seq),
    )
    if len({len(c) for c in columns}) != 1:
        raise ValueError("columns of different lengths")
    return list(map(TimelineSummary, *columns))


__all__ = [
    "DISK_CACHE_DIR",
    "FORMAT_VERSION",
    "DiskCache",
    "cache_dir",
    "float_column",
    "int_column",
]
