"""What a verification found: per-day status, problems (kind, file, line), the report.

Standard library only; shipped in evidence packs (see ``verify.STANDALONE_MODULES``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Problem:
    kind: str
    file: str
    line: int  # 1-based; 0 when the problem is about the file as a whole
    message: str
    seq: int | None = None


@dataclass
class DayStatus:
    day: str  # YYYY-MM-DD
    file: str
    records: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    status: str = "verified"  # verified | broken | open | unchained
    broken_line: int | None = None
    sealed_seq: int | None = None  # highest seq a valid checkpoint of this day covers


@dataclass
class Checkpoint:
    doc: dict[str, Any]
    file: str
    index: int  # 1-based entry number in its file

    @property
    def seq(self) -> int:
        return int(self.doc["seq"])

    @property
    def hash(self) -> str:
        return str(self.doc["hash"])

    @property
    def kind(self) -> str:
        return str(self.doc.get("kind", ""))


@dataclass
class Report:
    days: list[DayStatus] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    records: int = 0
    unchained: int = 0
    checkpoints: int = 0
    key_id: str | None = None
    last_seq: int | None = None
    last_hash: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


__all__ = ["Checkpoint", "DayStatus", "Problem", "Report"]
