"""The process-table pass behind containment's periodic refresh."""

from __future__ import annotations

import os
import subprocess
import sys

from mimolo.operations.containment_scan import children_map, descendants


def test_descendants_walks_the_whole_subtree_and_nothing_else() -> None:
    children = {1: [10, 20], 10: [11], 11: [12], 20: [], 30: [31]}
    assert sorted(descendants(children, 1)) == [10, 11, 12, 20]
    assert descendants(children, 12) == []
    assert descendants(children, 99) == []


def test_children_map_sees_a_real_child_of_ours() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        table = children_map()
        assert child.pid in table[os.getpid()]
        assert os.getpid() in table[os.getppid()]
        assert child.pid in descendants(table, os.getpid())
    finally:
        child.kill()
        child.wait()
