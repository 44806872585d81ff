"""Where a ledger's files are: day files and checkpoint files under an evidence directory
(``YYYY/YYYYMMDD.evidence.jsonl`` and ``YYYY/YYYYMMDD.checkpoint.json``), and the host key.

Standard library and ``cryptography`` only; shipped in evidence packs.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

_DAY_FILE = re.compile(r"^(\d{8})\.evidence\.jsonl$")
_CHECKPOINT_FILE = re.compile(r"^(\d{8})\.checkpoint\.json$")


def _day_of(name: str) -> date:
    return date(int(name[:4]), int(name[4:6]), int(name[6:8]))


def day_files(evidence_dir: Path) -> list[tuple[date, Path]]:
    """Every day file under ``evidence_dir``, oldest first."""
    out = []
    for path in evidence_dir.glob("*/*.evidence.jsonl"):
        match = _DAY_FILE.match(path.name)
        if match:
            out.append((_day_of(match.group(1)), path))
    return sorted(out)


def checkpoint_files(evidence_dir: Path) -> list[tuple[date, Path]]:
    out = []
    for path in evidence_dir.glob("*/*.checkpoint.json"):
        match = _CHECKPOINT_FILE.match(path.name)
        if match:
            out.append((_day_of(match.group(1)), path))
    return sorted(out)


def read_checkpoints(path: Path) -> list[dict[str, Any]]:
    """The entries of one checkpoint file (ValueError when it is not one)."""
    doc = json.loads(path.read_bytes())
    entries = doc.get("checkpoints") if isinstance(doc, dict) else None
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ValueError('a checkpoint file is {"checkpoints": [...]}')
    return entries


def load_public_key(path: Path) -> bytes:
    """The raw Ed25519 public key in a PEM file (ValueError when it is not one)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    key = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path}: not an Ed25519 public key")
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


__all__ = ["checkpoint_files", "day_files", "load_public_key", "read_checkpoints"]
