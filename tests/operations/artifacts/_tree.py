"""Real artifact trees for the tests: files with chosen bytes and mtimes, read back."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime
from pathlib import Path

from mimolo.dataroot import DataRoot

PLUGIN = "screen_tracker"
INSTANCE = "shots"
DAY1 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
DAY2 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
DAY3 = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)


def instance_dir(root: DataRoot) -> Path:
    return root.instance_dir(PLUGIN, INSTANCE)


def put(instance: Path, rel_path: str, body: bytes, when: datetime) -> Path:
    """Write ``artifacts/<rel_path>`` (folders 0700, file 0600) with mtime ``when``."""
    path = instance / "artifacts" / rel_path
    folder = instance / "artifacts"
    for part in rel_path.split("/")[:-1]:
        folder = folder / part
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.write_bytes(body)
    os.chmod(path, 0o600)
    ns = int(when.timestamp() * 1e9)
    os.utime(path, ns=(ns, ns))
    return path


def snapshot(instance: Path) -> dict[str, str]:
    """rel_path -> sha256 of every file under ``artifacts/``."""
    base = instance / "artifacts"
    return {
        str(p.relative_to(base)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(base.rglob("*"))
        if p.is_file()
    }


def sample_tree(instance: Path) -> dict[str, bytes]:
    """Three days of screenshot-like files plus one file straight under ``artifacts/``."""
    files = {
        "2026/11/01/a.png": os.urandom(3000),
        "2026/11/01/b.png": os.urandom(5000),
        "2026/11/02/c.png": os.urandom(7000),
        "2026/11/03/d.png": os.urandom(11000),
        "notes.txt": b"plain text " * 200,
    }
    days = {"01": DAY1, "02": DAY2, "03": DAY3}
    for rel, body in files.items():
        put(instance, rel, body, days.get(rel.split("/")[2] if "/" in rel else "03", DAY3))
    return files
