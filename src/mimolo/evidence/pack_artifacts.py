"""The artifact hashes of an evidence pack (and the files themselves when asked).

The pack lists, for every artifact its included records reference, the record, the
instance, the artifact's id, path, sha256, size and MIME, and whether the file is in the
pack; a file is included only while it still matches the sha256 its record names.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from mimolo.artifact_files import open_artifact
from mimolo.dataroot import DataRoot
from mimolo.errors import ArtifactError


def artifact_entries(
    root: DataRoot, with_artifacts: bool, records: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], dict[str, bytes]]:
    """Hashes of the artifacts the included records reference (and the files if asked)."""
    entries: list[dict[str, Any]] = []
    files: dict[str, bytes] = {}
    for rec in records:
        data = rec.get("record", {}).get("data", {})
        refs = data.get("artifacts") if isinstance(data, dict) else None
        for ref in refs if isinstance(refs, list) else []:
            if not isinstance(ref, dict):
                continue
            entry = {
                "seq": rec.get("seq"),
                "plugin_id": rec.get("plugin_id"),
                "instance_id": rec.get("instance_id"),
                **{k: ref.get(k) for k in ("artifact_id", "rel_path", "sha256", "bytes", "mime")},
                "included": False,
            }
            if with_artifacts:
                entry.update(_artifact_file(root, entry, files))
            entries.append(entry)
    return entries, files


def _artifact_file(
    root: DataRoot, entry: dict[str, Any], files: dict[str, bytes]
) -> dict[str, Any]:
    try:
        fd = open_artifact(
            root, str(entry["plugin_id"]), str(entry["instance_id"]), str(entry["rel_path"])
        )
    except ArtifactError as exc:
        return {"included": False, "reason": exc.message}
    with os.fdopen(fd, "rb") as fh:
        data = fh.read()
    if hashlib.sha256(data).hexdigest() != entry["sha256"]:
        return {"included": False, "reason": "the file no longer matches the recorded sha256"}
    name = f"artifacts/{entry['plugin_id']}/{entry['instance_id']}/{entry['rel_path']}"
    files[name] = data
    return {"included": True, "member": name}


__all__ = ["artifact_entries"]
