"""A disk that fills while the review keeps its copies: the answer is still right, and no
partial copy or temp file is left behind.

The full disk is real but needs no mount: the review runs in a child process whose
``RLIMIT_FSIZE`` caps any file it writes (SIGXFSZ ignored, so a write fails with
``EFBIG`` as a full file system fails with ``ENOSPC``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

from mimolo.dataroot import DataRoot
from mimolo.timeline.demo import DemoSpec, write_demo

CHILD = textwrap.dedent(
    """
    import json, resource, signal, sys
    from datetime import UTC, datetime, timedelta
    from pathlib import Path
    from mimolo.dataroot import DataRoot
    from mimolo.protocol.review import Assignment, Rule, RuleMatch, ReviewSettings
    from mimolo.timeline import DayCache, TimelinePolicy
    from mimolo.timeline.disk_cache import DiskCache
    from mimolo.timeline.piece_store import PieceStore
    from mimolo.timeline.review import ReviewInputs, reviewed_timeline
    from zoneinfo import ZoneInfo

    root, cache_dir, cap = DataRoot(Path(sys.argv[1])), Path(sys.argv[2]), int(sys.argv[3])
    rules = (Rule(rule_id="code", match=RuleMatch(application="^code$"),
                  assign=Assignment(project="app")),)
    inputs = ReviewInputs(tz=ZoneInfo("Europe/Berlin"), settings=ReviewSettings(rules=rules))
    start = datetime(2026, 5, 20, tzinfo=UTC)
    window = (start, start + timedelta(days=12))
    now = window[1] + timedelta(days=2)
    policy = TimelinePolicy()
    expected = reviewed_timeline(root, *window, policy, inputs, cache=None, now=now)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (cap, cap))
    cache = DayCache(disk=DiskCache(cache_dir / "days"), pieces=PieceStore(cache_dir / "pieces"))
    got = reviewed_timeline(root, *window, policy, inputs, cache=cache, now=now)
    again = DayCache(disk=DiskCache(cache_dir / "days"), pieces=PieceStore(cache_dir / "pieces"))
    print(json.dumps({
        "equal": got == expected,
        "again": reviewed_timeline(root, *window, policy, inputs, cache=again, now=now) == expected,
        "segments": len(expected.segments),
    }))
    """
)


def test_a_full_disk_while_keeping_copies_loses_nothing(tmp_path: Path) -> None:
    root = DataRoot.resolve(str(tmp_path / "root")).ensure()
    write_demo(root, DemoSpec(days=14, seed=3, end=date(2026, 5, 31), interval_s=120,
                              weekends=True, desktop=True))  # fmt: skip
    cache = tmp_path / "cache"
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(root.root), str(cache), "2048"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    result = json.loads(done.stdout)
    assert result == {"equal": True, "again": True, "segments": result["segments"]}
    assert result["segments"] > 0
    left = [p for p in cache.rglob("*") if p.is_file()]
    assert not [p for p in left if p.name.endswith(".tmp")]  # no partial temp file
    assert all(p.stat().st_size <= 2048 for p in left)  # only copies that fit were kept
    assert len(left) < 2 * 14  # the bigger copies could not be written
