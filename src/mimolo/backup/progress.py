"""How backup and restore report progress (bytes): the CLI passes a rich bar, tests and
quiet runs pass nothing."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def start(self, total_bytes: int) -> None: ...

    def advance(self, n: int) -> None: ...


class NoProgress:
    """Progress that goes nowhere."""

    def start(self, total_bytes: int) -> None:
        return None

    def advance(self, n: int) -> None:
        return None


__all__ = ["NoProgress", "Progress"]
