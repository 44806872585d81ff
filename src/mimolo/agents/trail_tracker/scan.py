"""Finding trail files and noticing writes to them: size or mtime changed, or a new file."""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path

import msgspec

FILES_LIMIT = 256

Fingerprint = tuple[int, int]  # (size, mtime_ns)


class ScanResult(msgspec.Struct, frozen=True):
    """The trail files now (``None`` with a reason when the folder cannot be read)."""

    files: dict[str, Fingerprint] | None
    problem: str = ""


def scan_trails(folder: Path, pattern: str, *, limit: int = FILES_LIMIT) -> ScanResult:
    """Trail files directly in ``folder`` matching ``pattern`` (the newest ``limit``)."""
    found: list[tuple[int, str, Fingerprint]] = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if not fnmatch.fnmatchcase(entry.name, pattern):
                    continue
                try:
                    if not entry.is_file():
                        continue
                    st = entry.stat()
                except OSError:
                    continue
                found.append((st.st_mtime_ns, entry.name, (st.st_size, st.st_mtime_ns)))
    except FileNotFoundError:
        return ScanResult(None, f"trail folder missing: {folder}")
    except NotADirectoryError:
        return ScanResult(None, f"trail folder is not a directory: {folder}")
    except OSError as exc:
        return ScanResult(None, f"trail folder unreadable: {folder}: {exc.strerror or exc}")
    found.sort(reverse=True)
    return ScanResult({name: fp for _, name, fp in found[:limit]})


def written(before: dict[str, Fingerprint], now: dict[str, Fingerprint]) -> list[str]:
    """Files that are new or whose size/mtime changed (deletions are not writes)."""
    return sorted(name for name, fp in now.items() if before.get(name) != fp)


__all__ = ["FILES_LIMIT", "Fingerprint", "ScanResult", "scan_trails", "written"]
