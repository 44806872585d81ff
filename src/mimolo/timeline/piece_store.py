"""On-disk copies of what the review derived from closed days, so a new process (Control
after a restart, the CLI, a report) reviews a year without reading its ledger again.

Two kinds of file under ``<root>/control/cache/review/`` (0600 in a 0700 dir):

- a **digest** per ledger file: its identity (path, size, mtime_ns, inode), its read
  warnings and its bounds under one policy, which is all that splitting a window into
  runs needs;
- the **pieces** of a closed run of days (``base.cached_base``): the categorized spans,
  their rule ids, provenance (instances and ledger seqs) and their records' spans, keyed
  by the run's file identities, the rules and the policy.

Each file records what it was made from and starts with a checksum of the rest: anything
that differs is a miss, so nothing is ever served stale or half-written. The records of a
piece are built only when an adjustment cuts it. Any problem reading or writing is a miss
and a log line, never an error. The directory keeps at most ``max_files`` files: the
oldest written go first.
"""

from __future__ import annotations

import hashlib
import logging
import os
from array import array
from collections.abc import Hashable, Iterator, Sequence
from operator import attrgetter
from pathlib import Path
from typing import overload

import msgspec

from mimolo.dataroot import DataRoot, ensure_private_dir, write_atomic
from mimolo.timeline.disk_cache import float_column, int_column
from mimolo.timeline.identity import FileIdentity
from mimolo.timeline.pieces import Member, Piece
from mimolo.timeline.reader import ReadWarning
from mimolo.timeline.runs import Bounds

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
DEFAULT_MAX_FILES = 4_000
"""Ten years of digests, or a year of digests and a few rule sets' pieces."""
_PRUNE_EVERY = 200
_SUM = 16  # bytes of blake2b over the payload, ahead of it


class _Digest(msgspec.Struct, kw_only=True):
    version: int
    identity: FileIdentity
    policy: str
    bounds: Bounds
    warnings: list[tuple[str, int, str]]


class _StoredPiece(msgspec.Struct, array_like=True, frozen=True):
    start: float
    end: float
    client: int  # 0 = no client, else 1 + string index
    project: int  # likewise
    tags: list[int]
    rule_ids: list[int]
    instances: list[int]
    count: int  # its records: the next ``count`` rows of the run's record columns


class _Run(msgspec.Struct, kw_only=True):
    version: int
    identities: list[FileIdentity]
    rules: str
    policy: str
    strings: list[str]
    pieces: list[_StoredPiece]
    instance: bytes  # record columns, each piece's records in seq order
    start: bytes
    end: bytes
    seq: bytes


class StoredMember(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """A piece's record as kept on disk: what cutting a piece reads of it."""

    instance_id: str
    start: float
    end: float
    seq: int


_record_order = attrgetter("seq", "start", "end", "instance_id")
_start = attrgetter("start")
_end = attrgetter("end")
_seq = attrgetter("seq")
_encoder = msgspec.msgpack.Encoder()
_digest_decoder = msgspec.msgpack.Decoder(_Digest)
_run_decoder = msgspec.msgpack.Decoder(_Run)


PIECE_STORE_DIR = "review"
"""The kept pieces' directory in a cache directory (``DataRoot.cache_dir``)."""


def store_dir(data_root: DataRoot) -> Path:
    return data_root.cache_dir / PIECE_STORE_DIR


def policy_digest(policy_key: Hashable) -> str:
    """A stable name for a policy key (``runs.policy_key``) across processes."""
    return hashlib.sha256(_encoder.encode(policy_key)).hexdigest()


class _Columns:
    """A run's record columns, decoded once and shared by its pieces' members."""

    __slots__ = ("end", "instance", "seq", "start", "strings")

    def __init__(self, run: _Run) -> None:
        self.strings = run.strings
        self.instance = int_column("I", run.instance)
        self.start = float_column(run.start)
        self.end = float_column(run.end)
        self.seq = int_column("q", run.seq)
        if not len(self.instance) == len(self.start) == len(self.end) == len(self.seq):
            raise ValueError("record columns of different lengths")


class _Members(Sequence[Member]):
    """A stored piece's records, built on first use (most pieces never need them)."""

    __slots__ = ("_columns", "_hi", "_items", "_lo")

    def __init__(self, columns: _Columns, lo: int, hi: int) -> None:
        self._columns = columns
        self._lo = lo
        self._hi = hi
        self._items: list[StoredMember] | None = None

    def _load(self) -> list[StoredMember]:
        if self._items is None:
            c, lo, hi = self._columns, self._lo, self._hi
            names = [c.strings[i] for i in c.instance[lo:hi]]
            self._items = list(map(StoredMember, names, c.start[lo:hi], c.end[lo:hi], c.seq[lo:hi]))
        return self._items

    def __len__(self) -> int:
        return self._hi - self._lo

    @overload
    def __getitem__(self, index: int) -> Member: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Member]: ...
    def __getitem__(self, index: int | slice) -> Member | Sequence[Member]:
        return self._load()[index]

    def __iter__(self) -> Iterator[Member]:
        return iter(self._load())


class PieceStore:
    """Digests of ledger files and pieces of closed runs, in one private directory."""

    def __init__(self, directory: Path, max_files: int = DEFAULT_MAX_FILES) -> None:
        if max_files < 1:
            raise ValueError("max_files must be at least 1")
        self.directory = directory
        self.max_files = max_files
        self._ready: bool | None = None  # the directory made and writable (None: unknown)
        self._stores = 0

    def writable(self) -> bool:
        """Whether the directory exists (made 0700 if missing) and can be written: a
        worker's work would otherwise be lost (checked once)."""
        if self._ready is None:
            try:
                ensure_private_dir(self.directory)
                self._ready = os.access(self.directory, os.W_OK | os.X_OK)
            except OSError as exc:
                logger.info("review cache %s is not writable: %s", self.directory, exc)
                self._ready = False
        return self._ready

    def _path(self, kind: str, name: bytes) -> Path:
        return self.directory / f"{hashlib.sha256(name).hexdigest()[:40]}.{kind}"

    def _read(self, path: Path) -> bytes | None:
        """The payload of a file whose checksum holds (a torn or altered copy is a miss)."""
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            logger.info("ignoring unreadable review cache %s: %s", path, exc)
            return None
        payload = data[_SUM:]
        if hashlib.blake2b(payload, digest_size=_SUM).digest() != data[:_SUM]:
            logger.info("ignoring corrupt review cache %s", path)
            return None
        return payload

    def _write(self, path: Path, payload: bytes) -> None:
        """Checksum, temp file and rename, best effort: a copy torn by a crash fails its
        checksum, so a miss (no fsync: this is a cache)."""
        data = hashlib.blake2b(payload, digest_size=_SUM).digest() + payload
        try:
            write_atomic(path, data, durable=False)
        except OSError as exc:
            logger.info("could not write review cache %s: %s", path, exc)
            return
        self._stores += 1
        if self._stores % _PRUNE_EVERY == 1:
            self.prune()

    def prune(self) -> int:
        """Remove the oldest written files beyond ``max_files``; how many went."""
        try:
            entries = [(e.stat().st_mtime_ns, e.path) for e in os.scandir(self.directory)]
        except OSError:
            return 0
        excess = len(entries) - self.max_files
        if excess <= 0:
            return 0
        entries.sort()
        for _, path in entries[:excess]:
            try:
                os.unlink(path)
            except OSError:
                continue
        return excess

    def load_digest(
        self, identity: FileIdentity, policy: str
    ) -> tuple[Bounds, list[ReadWarning]] | None:
        """A ledger file's bounds and warnings, or ``None``."""
        path = self._path("digest", identity.path.encode())
        data = self._read(path)
        if data is None:
            return None
        try:
            got = _digest_decoder.decode(data)
        except msgspec.DecodeError as exc:
            logger.info("ignoring corrupt review cache %s: %s", path, exc)
            return None
        if got.version != FORMAT_VERSION or got.identity != identity or got.policy != policy:
            return None
        return got.bounds, [ReadWarning(p, n, r) for p, n, r in got.warnings]

    def store_digest(
        self, identity: FileIdentity, policy: str, bounds: Bounds, warnings: Sequence[ReadWarning]
    ) -> None:
        if not self.writable():
            return
        digest = _Digest(
            version=FORMAT_VERSION,
            identity=identity,
            policy=policy,
            bounds=bounds,
            warnings=[(w.path, w.line, w.reason) for w in warnings],
        )
        self._write(self._path("digest", identity.path.encode()), _encoder.encode(digest))

    def _run_path(self, identities: Sequence[FileIdentity], rules: str, policy: str) -> Path:
        return self._path("pieces", _encoder.encode((list(identities), rules, policy)))

    def has_run(self, identities: Sequence[FileIdentity], rules: str, policy: str) -> bool:
        """Whether a run's pieces are on disk (not checked: ``load_run`` does)."""
        return self._run_path(identities, rules, policy).exists()

    def load_run(
        self, identities: Sequence[FileIdentity], rules: str, policy: str
    ) -> list[Piece] | None:
        """A closed run's pieces, or ``None``."""
        path = self._run_path(identities, rules, policy)
        data = self._read(path)
        if data is None:
            return None
        try:
            run = _run_decoder.decode(data)
            if (
                run.version != FORMAT_VERSION
                or run.identities != list(identities)
                or (run.rules, run.policy) != (rules, policy)
            ):
                return None
            return _pieces(run)
        except (msgspec.DecodeError, ValueError, IndexError) as exc:
            logger.info("ignoring corrupt review cache %s: %s", path, exc)
            return None

    def store_run(
        self,
        identities: Sequence[FileIdentity],
        rules: str,
        policy: str,
        pieces: Sequence[Piece],
    ) -> None:
        if not self.writable():
            return  # before encoding: the pieces of a year are most of the work
        run = _encode_run(identities, rules, policy, pieces)
        self._write(self._run_path(identities, rules, policy), _encoder.encode(run))


def _encode_run(
    identities: Sequence[FileIdentity], rules: str, policy: str, pieces: Sequence[Piece]
) -> _Run:
    table: dict[str, int] = {}

    def ref(name: str | None) -> int:
        return 0 if name is None else 1 + table.setdefault(name, len(table))

    stored: list[_StoredPiece] = []
    records: list[Member] = []
    for p in pieces:
        members = sorted(p.members, key=_record_order)
        names, _ = p.provenance()
        stored.append(
            _StoredPiece(
                start=p.start,
                end=p.end,
                client=ref(p.client),
                project=ref(p.project),
                tags=[ref(t) for t in p.tags],
                rule_ids=[ref(r) for r in p.rule_ids],
                instances=[ref(n) for n in names],
                count=len(members),
            )
        )
        records.extend(members)
    index = table.setdefault
    instance = array("I", [index(m.instance_id, len(table)) for m in records])
    return _Run(
        version=FORMAT_VERSION,
        identities=list(identities),
        rules=rules,
        policy=policy,
        strings=list(table),
        pieces=stored,
        instance=instance.tobytes(),
        start=array("d", map(_start, records)).tobytes(),
        end=array("d", map(_end, records)).tobytes(),
        seq=array("q", map(_seq, records)).tobytes(),
    )


def _pieces(run: _Run) -> list[Piece]:
    columns = _Columns(run)
    names: list[str | None] = [None, *run.strings]
    out: list[Piece] = []
    row = 0
    for sp in run.pieces:
        hi = row + sp.count
        if hi > len(columns.seq) or sp.count < 0:
            raise ValueError("a piece names records beyond the columns")
        piece = Piece(
            sp.start,
            sp.end,
            names[sp.client],
            names[sp.project],
            tuple(_names(names, sp.tags)),
            "evidence",
            rule_ids=tuple(_names(names, sp.rule_ids)),
            members=_Members(columns, row, hi),
        )
        piece.prov = (_names(names, sp.instances), columns.seq[row:hi].tolist())
        out.append(piece)
        row = hi
    if row != len(columns.seq):
        raise ValueError("records left over after the pieces")
    return out


def _names(names: list[str | None], refs: list[int]) -> list[str]:
    out: list[str] = []
    for r in refs:
        name = names[r]
        if name is None:
            raise ValueError("a name reference of 0")
        out.append(name)
    return out


__all__ = [
    "DEFAULT_MAX_FILES",
    "FORMAT_VERSION",
    "PIECE_STORE_DIR",
    "PieceStore",
    "StoredMember",
    "policy_digest",
    "store_dir",
]
