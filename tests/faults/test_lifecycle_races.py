"""Lifecycle races under the real ``mimolo ops`` (issue 13's freeze): ``start_agent`` and
``stop_agent`` while a chatty agent is stopping, and restarts of agents whose first
summary arrives in the same read as their handshake. Operations keeps answering, never
spins, every command gets its final answer, and SIGTERM still stops it."""

from __future__ import annotations

import threading
import time
from typing import Any

import psutil
import pytest

from faults._accounting import assert_every_drop_counted, assert_ledger_intact
from faults._ops import (
    Pinger,
    agent_states,
    assert_no_orphans,
    assert_pinger_ok,
    ipc,
    wait_states,
)
from faults.conftest import StartOps
from mimolo.dataroot import DataRoot
from mimolo.errors import IpcError

pytestmark = pytest.mark.slow

SETTLED = ("running", "stopped")
CHATTY = {"chatty": {"mode": "flood", "flood_type": "log", "linger_s": 1.5}}
QUICK_LINES = {f"quick-line-{i}": {"mode": "handshake_summary"} for i in range(3)}
CYCLES = 8
IDLE_CPU_BOUND = 80.0  # percent of one core; a spinning loop sits at ~100


def call(root: DataRoot, cmd: str, iid: str, out: list[Any]) -> None:
    """One lifecycle command; its answer (or error) goes to ``out``."""
    try:
        out.append(ipc(root, cmd, instance_id=iid, timeout=60))
    except IpcError as exc:
        out.append(exc)


def test_start_and_stop_while_a_chatty_agent_is_stopping(
    root: DataRoot, start_ops: StartOps
) -> None:
    ops = start_ops({**CHATTY, "bystander": {"mode": "good"}})
    pinger = Pinger(root, ops.pid)
    pinger.start()
    try:
        for _ in range(3):
            wait_states(root, {"chatty": ("running",)})
            answers: list[Any] = []
            stopper = threading.Thread(target=call, args=(root, "stop_agent", "chatty", answers))
            stopper.start()
            deadline = time.monotonic() + 30
            while agent_states(root)["chatty"]["state"] != "stopping":
                assert time.monotonic() < deadline, "chatty never reached stopping"
                time.sleep(0.02)
            call(root, "start_agent", "chatty", answers)  # arrives mid-stop
            call(root, "stop_agent", "chatty", answers)
            stopper.join(timeout=90)
            assert not stopper.is_alive(), "stop_agent never answered"
            assert len(answers) == 3, answers
            wait_states(root, {"chatty": SETTLED})
            call(root, "start_agent", "chatty", answers)
            assert not isinstance(answers[-1], IpcError), answers[-1]
        wait_states(root, {"chatty": ("running",), "bystander": ("running",)})
    finally:
        pinger.stop()
    assert ops.shutdown() == 0
    assert_pinger_ok(pinger)
    assert_no_orphans(root)
    assert_every_drop_counted(root, ["chatty", "bystander"])
    assert_ledger_intact(root)


def test_a_line_in_the_handshake_read_never_freezes_operations(
    root: DataRoot, start_ops: StartOps
) -> None:
    ops = start_ops(QUICK_LINES)
    pinger = Pinger(root, ops.pid)
    pinger.start()
    try:
        wait_states(root, dict.fromkeys(QUICK_LINES, ("running",)))
        for _ in range(CYCLES):
            answers: list[Any] = []
            threads = [
                threading.Thread(target=call, args=(root, "restart_agent", iid, answers))
                for iid in QUICK_LINES
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=90)
            assert not any(t.is_alive() for t in threads), "restart_agent never answered"
            errors = [a for a in answers if isinstance(a, IpcError)]
            assert not errors, errors
            wait_states(root, dict.fromkeys(QUICK_LINES, ("running",)))
        cpu = psutil.Process(ops.pid).cpu_percent(interval=3.0)
        assert cpu < IDLE_CPU_BOUND, f"Operations spins at {cpu:.0f}% CPU with idle agents"
    finally:
        pinger.stop()
    assert ops.shutdown() == 0
    assert_pinger_ok(pinger)
    assert_no_orphans(root)
    records = assert_ledger_intact(root)
    first = [r for r in records if r["record"]["data"].get("n") == 0]
    # every start's first summary (in the handshake's write) is evidence
    assert len(first) >= len(QUICK_LINES) * (CYCLES + 1)
