"""Opening an evidence pack safely, and reading an invoice PDF's embedded figures.

Standard library only; shipped verbatim in every pack's ``verify/`` beside
``verify_pack.py``. A pack is untrusted input: member names are an allowlist (no absolute
paths, no ``..``, no links), sizes are capped before anything is read, a member that
expands too far is refused as a zip bomb, and members are only ever written under the
private directory the caller passes.
"""

from __future__ import annotations

import json
import re
import stat
import zipfile
import zlib
from pathlib import Path
from typing import Any

TOTALS_MARKER = "mimolo_invoice"
MAX_MEMBERS = 5000
MAX_MEMBER_BYTES = 512 * 1024 * 1024
MAX_TOTAL_BYTES = 2 * 1024 * 1024 * 1024
MAX_RATIO = 200  # uncompressed / compressed, for members over 1 MiB
MAX_PDF_STREAM_BYTES = 1024 * 1024
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,199}")


def _safe_name(name: str) -> bool:
    parts = name.split("/")
    return len(parts) <= 8 and all(_NAME.fullmatch(p) and p not in (".", "..") for p in parts)


def extract(pack: Path, into: Path, limits: dict[str, int] | None = None) -> None:
    """Copy the members of ``pack`` under ``into``; ValueError for any unsafe member."""
    caps = {"members": MAX_MEMBERS, "member": MAX_MEMBER_BYTES, "total": MAX_TOTAL_BYTES}
    caps.update(limits or {})
    try:
        archive = zipfile.ZipFile(pack)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ValueError(f"{pack}: not a readable zip ({exc})") from None
    with archive:
        infos = [i for i in archive.infolist() if not i.filename.endswith("/")]
        if len(infos) > caps["members"]:
            raise ValueError(f"{len(infos)} members (at most {caps['members']} are accepted)")
        names: set[str] = set()
        total = 0
        for info in infos:
            name = info.filename
            if not _safe_name(name) or name in names:
                raise ValueError(f"refused member name {name!r} (absolute, '..' or repeated)")
            if stat.S_ISLNK(info.external_attr >> 16):
                raise ValueError(f"refused member {name!r}: a symbolic link")
            names.add(name)
            if info.file_size > caps["member"]:
                raise ValueError(
                    f"member {name!r} is {info.file_size} bytes (cap {caps['member']})"
                )
            ratio = info.file_size / max(1, info.compress_size)
            if info.file_size > 1024 * 1024 and ratio > MAX_RATIO:
                raise ValueError(f"member {name!r} expands {ratio:.0f}x: refused as a zip bomb")
            total += info.file_size
            if total > caps["total"]:
                raise ValueError(f"the members add up to over {caps['total']} bytes")
        for info in infos:
            target = into.joinpath(*info.filename.split("/"))
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            copied = 0
            with archive.open(info) as src, open(target, "xb") as dst:
                target.chmod(0o600)
                while chunk := src.read(1024 * 1024):
                    copied += len(chunk)
                    if copied > info.file_size:
                        raise ValueError(f"member {info.filename!r} is longer than it claims")
                    dst.write(chunk)


def member_files(root: Path) -> dict[str, Path]:
    """Every regular file under ``root`` by its ``/``-joined relative name (no symlinks;
    Python's own ``__pycache__`` of an extracted verifier is not a member)."""
    out: dict[str, Path] = {}
    for path in sorted(root.rglob("*")):
        if "__pycache__" in path.relative_to(root).parts:
            continue
        if path.is_symlink():
            raise ValueError(f"refused {path}: a symbolic link")
        if path.is_file():
            out["/".join(path.relative_to(root).parts)] = path
    return out


# ---- the invoice's own figures, read from its PDF --------------------------------------

_STREAM = re.compile(rb"/Length\s+(\d+)\s*(?:/|>>)")


def pdf_invoice_totals(pdf: bytes) -> dict[str, Any]:
    """The JSON an invoice PDF embeds with its totals; ValueError when it has none (or two)."""
    found: list[dict[str, Any]] = []
    for marker in re.finditer(rb"/Type\s*/EmbeddedFile\b", pdf):
        start = pdf.rfind(b" obj", 0, marker.start())
        head_end = pdf.find(b"stream", marker.end())
        if start < 0 or head_end < 0 or b"endobj" in pdf[marker.end() : head_end]:
            continue
        head = pdf[start:head_end]
        length = _STREAM.search(head)
        if length is None or b"/FlateDecode" not in head:
            continue
        begin = head_end + 6
        begin += 2 if pdf[begin : begin + 2] == b"\r\n" else 1
        raw = pdf[begin : begin + int(length.group(1))]
        inflate = zlib.decompressobj()
        try:
            data = inflate.decompress(raw, MAX_PDF_STREAM_BYTES)
            doc = json.loads(data) if not inflate.unconsumed_tail else None
        except (zlib.error, ValueError):
            continue
        if isinstance(doc, dict) and TOTALS_MARKER in doc:
            found.append(doc)
    if len(found) != 1:
        raise ValueError(f"the PDF embeds {len(found)} MiMoLo invoice totals (expected one)")
    return found[0]


__all__ = ["TOTALS_MARKER", "extract", "member_files", "pdf_invoice_totals"]
