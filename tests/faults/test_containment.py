"""Containment under the real ``mimolo ops``: setsid grandchildren, plain children, an
agent that ignores SIGTERM and EOF, a silent hang and a crash loop. Nothing outlives a
stop, the restart storm never slows the control socket."""

from __future__ import annotations

import time
from pathlib import Path

import psutil
import pytest

from faults._ops import (
    PLUGIN,
    Pinger,
    agent_states,
    assert_no_orphans,
    assert_pinger_ok,
    ipc,
    wait_states,
)
from faults.conftest import StartOps
from mimolo.dataroot import DataRoot

pytestmark = pytest.mark.slow

INSTANCES = {
    "spawner": {"mode": "spawn", "count": 2},
    "spawner-kept": {"mode": "spawn", "count": 2},
    "ignores-term": {"mode": "ignore_term"},
    "hangs": {"mode": "hang"},
    "crash-loop": {"mode": "crash"},
}


def descendant_pids(root: DataRoot, iid: str) -> list[int]:
    path = root.instance_dir(PLUGIN, iid) / "descendants.pids"
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def alive(pids: list[int]) -> list[int]:
    out = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                out.append(pid)
        except psutil.NoSuchProcess:
            continue
    return out


def wait_dead(pids: list[int], timeout: float = 10.0) -> list[int]:
    """The pids still alive after up to ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    left = alive(pids)
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = alive(left)
    return left


def wait_file(path: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert path.exists(), f"{path} never appeared"


def test_no_descendant_survives_stop_or_shutdown(root: DataRoot, start_ops: StartOps) -> None:
    ops = start_ops(INSTANCES)
    pinger = Pinger(root, ops.pid)
    pinger.start()
    try:
        wait_states(root, dict.fromkeys(("spawner", "spawner-kept", "ignores-term"), ("running",)))
        for iid in ("spawner", "spawner-kept"):
            wait_file(root.instance_dir(PLUGIN, iid) / "descendants.pids")
        spawned = descendant_pids(root, "spawner")
        assert len(spawned) == 4
        assert len(alive(spawned)) == 4
        # stopping one agent ends its whole tree, setsid grandchildren included
        ipc(root, "stop_agent", instance_id="spawner", timeout=60)
        assert agent_states(root)["spawner"]["state"] == "stopped"
        left = wait_dead(spawned)
        assert not left, f"stop_agent left descendants alive: {left}"
        # an agent that ignores SIGTERM, EOF and the stop sequence is still ended
        ipc(root, "stop_agent", instance_id="ignores-term", timeout=60)
        assert agent_states(root)["ignores-term"]["state"] == "stopped"
        # the crash loop ends in quarantine; the silent agent is restarted as hung
        wait_states(root, {"crash-loop": ("quarantined",)}, timeout=90)
        wait_for_restart(root, "hangs")
    finally:
        pinger.stop()
    kept = descendant_pids(root, "spawner-kept")
    assert ops.shutdown() == 0
    assert_pinger_ok(pinger)
    left = wait_dead(kept, timeout=10)
    assert not left, f"Operations' shutdown left descendants alive: {left}"
    assert_no_orphans(root)


def wait_for_restart(root: DataRoot, iid: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if agent_states(root)[iid]["restarts"] >= 1:
            return
        time.sleep(0.2)
    raise AssertionError(f"{iid} was never restarted: {agent_states(root)[iid]}")
