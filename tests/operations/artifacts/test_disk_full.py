"""A disk that fills while archiving: the partial archive goes, the originals stay.

The full disk is real but needs no mount: the archiving runs in a child process whose
``RLIMIT_FSIZE`` caps any file it writes (SIGXFSZ ignored, so the write fails with
``EFBIG`` as a full file system fails with ``ENOSPC``; both are ``archive_disk_full``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from mimolo.dataroot import DataRoot

from ._tree import DAY1, INSTANCE, PLUGIN, instance_dir, put, snapshot

CHILD = textwrap.dedent(
    """
    import json, resource, signal, sys
    from datetime import UTC, datetime
    from pathlib import Path
    from mimolo.errors import MimoloError
    from mimolo.operations.artifacts.archive import write_archive
    from mimolo.operations.artifacts.inventory import files_of, take_inventory
    from mimolo.operations.artifacts.manifest import TimeRange

    instance, cap = Path(sys.argv[1]), int(sys.argv[2])
    index, _ = take_inventory(instance)  # before the cap: the index is not the archive
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (cap, cap))
    try:
        write_archive(instance, list(files_of(index)), plugin_id=sys.argv[3],
                      instance_id=sys.argv[4], time_range=TimeRange(), now=datetime.now(UTC))
    except MimoloError as exc:
        print(json.dumps({"code": exc.code, "message": exc.message}))
    else:
        print(json.dumps({"code": None}))
    """
)


def _archive_in_child(instance: Path, cap: int) -> dict[str, str | None]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(instance), str(cap), PLUGIN, INSTANCE],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_a_full_disk_removes_the_partial_archive_and_touches_no_original(
    tmp_path: Path,
) -> None:
    instance = instance_dir(DataRoot(tmp_path / "root"))
    for n in range(12):
        put(instance, f"2026/11/01/shot{n:02}.png", os.urandom(100_000), DAY1)
    before = snapshot(instance)
    mtimes = {p: p.stat().st_mtime_ns for p in (instance / "artifacts").rglob("*.png")}
    answer = _archive_in_child(instance, 450_000)
    assert answer["code"] == "archive_disk_full", answer
    assert "partial archive was removed" in str(answer["message"])
    assert list((instance / "archives").iterdir()) == []
    assert snapshot(instance) == before
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes


def test_the_same_archive_fits_without_the_cap(tmp_path: Path) -> None:
    instance = instance_dir(DataRoot(tmp_path / "root"))
    for n in range(12):
        put(instance, f"2026/11/01/shot{n:02}.png", os.urandom(100_000), DAY1)
    assert _archive_in_child(instance, 50_000_000) == {"code": None}
    assert len(list((instance / "archives").glob("*.zip"))) == 1
