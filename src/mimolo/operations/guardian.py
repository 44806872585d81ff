"""The guardian: ends every agent descendant when Operations dies, SIGKILL included.

``python -m mimolo.operations.guardian <data_root> <ops_pid> <cgroup base or ->``, started by
``Containment.start_guardian`` with a stdin pipe whose write end only Operations holds. It
blocks on that pipe at no cost; at EOF (Operations exited, however) it sweeps exactly like
``Containment.reap_leftovers`` and exits. ``exit`` on the pipe dismisses it without a sweep.
Imports: stdlib, psutil and the containment modules only.
"""

from __future__ import annotations

import logging
import signal
import sys
import time
from pathlib import Path

import psutil

from mimolo.dataroot import DataRoot
from mimolo.operations.containment import Containment
from mimolo.operations.containment_cgroup import CgroupTree

log = logging.getLogger("mimolo.operations.guardian")

_USAGE = "usage: python -m mimolo.operations.guardian DATA_ROOT OPS_PID [CGROUP_BASE|-]"
_POLL_S = 0.05


def _operations(ops_pid: int) -> psutil.Process | None:
    """Operations as a process handle, or None if it already died (we were re-parented)."""
    if psutil.Process().ppid() != ops_pid:
        return None
    try:
        return psutil.Process(ops_pid)
    except psutil.Error:
        return None


def _wait_gone(ops: psutil.Process | None) -> None:
    """EOF can precede the exit by a moment (or the fd was closed by mistake): wait for it."""
    while ops is not None:
        try:
            if ops.status() == psutil.STATUS_ZOMBIE:
                return
        except psutil.Error:
            return
        time.sleep(_POLL_S)


def sweep(data_root: DataRoot, cgroup_base: Path | None) -> list[int]:
    """End everything Operations' agents left; the pids ended."""
    tree = CgroupTree(cgroup_base.parent, cgroup_base) if cgroup_base is not None else None
    mode = "cgroup_v2" if tree is not None else "process_group"
    containment = Containment(data_root, mode, tree)
    return containment.reap_leftovers()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) not in (2, 3) or not args[1].isdigit():
        print(_USAGE, file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s guardian %(message)s")
    for sig in (signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    data_root = DataRoot(Path(args[0]))
    ops_pid = int(args[1])
    cgroup_base = Path(args[2]) if len(args) == 3 and args[2] != "-" else None
    ops = _operations(ops_pid)
    message = sys.stdin.buffer.read()
    if message.strip() == b"exit":
        return 0
    _wait_gone(ops)
    ended = sweep(data_root, cgroup_base)
    log.info("Operations %d is gone; ended %d process(es): %s", ops_pid, len(ended), ended)
    return 0


if __name__ == "__main__":
    sys.exit(main())
