"""The singleton lock: one Operations per data root, the holder's pid named."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from mimolo.dataroot import DataRoot
from mimolo.errors import AlreadyRunning
from mimolo.operations.lock import OpsLock, lock_is_held, read_lock_pid, running_pid

_HOLDER = """
import sys, time
from pathlib import Path
from mimolo.operations.lock import OpsLock
lock = OpsLock(Path(sys.argv[1])).acquire()
print("locked", flush=True)
sys.stdin.read()
"""


def test_acquire_writes_pid_and_release_clears(data_root: DataRoot) -> None:
    lock = OpsLock(data_root.lock_path).acquire()
    try:
        assert read_lock_pid(data_root.lock_path) == os.getpid()
        assert stat.S_IMODE(data_root.lock_path.stat().st_mode) == 0o600
        assert lock_is_held(data_root.lock_path)
        assert running_pid(data_root.lock_path) == os.getpid()
    finally:
        lock.release()
    assert not lock_is_held(data_root.lock_path)
    assert running_pid(data_root.lock_path) is None
    assert read_lock_pid(data_root.lock_path) is None


def test_second_holder_in_another_process_is_refused_with_pid(data_root: DataRoot) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(data_root.lock_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "locked"
        with pytest.raises(AlreadyRunning) as info:
            OpsLock(data_root.lock_path).acquire()
        assert info.value.pid == proc.pid
        assert f"pid {proc.pid}" in str(info.value)
        assert info.value.code == "already_running"
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=30)
        proc.stdout.close()  # type: ignore[union-attr]
    # the holder is gone: the lock is free again, even though its pid is still in the file
    with OpsLock(data_root.lock_path):
        assert read_lock_pid(data_root.lock_path) == os.getpid()


def test_missing_lock_file_means_not_running(tmp_path: object) -> None:
    root = DataRoot.resolve(str(tmp_path))
    assert not lock_is_held(root.lock_path)
    assert running_pid(root.lock_path) is None
