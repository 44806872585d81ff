"""A test agent that leaves descendants behind (stdlib only, starts fast).

``forker.py PIDFILE [--ignore-term] [--scrub-daemon]`` starts a plain child, a grandchild
(through the child) that calls ``setsid()``, and a double-fork daemon; each appends
``<role> <pid>`` to PIDFILE (roles: agent, child, grandchild, daemon), then all sleep.
``--ignore-term``: everyone ignores SIGTERM. ``--scrub-daemon``: the daemon re-executes with
an empty environment, so no MIMOLO_* variable names it. ``--daemon-exits``: the daemon
exits right after reporting (an orphan a subreaper must wait for).
"""

from __future__ import annotations

import os
import signal
import sys
import time
from typing import NoReturn

_SCRUBBED_DAEMON = """
import os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
os.write(fd, ("daemon %d\\n" % os.getpid()).encode())
os.close(fd)
while True:
    time.sleep(3600)
"""


def report(path: str, role: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, f"{role} {os.getpid()}\n".encode())
    finally:
        os.close(fd)


def linger(path: str, role: str) -> NoReturn:
    """Report, then sleep until killed; a forked copy never returns into the caller."""
    try:
        report(path, role)
        while True:
            time.sleep(3600)
    finally:
        os._exit(0)


def main() -> None:
    path = sys.argv[1]
    flags = set(sys.argv[2:])
    if "--ignore-term" in flags:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    report(path, "agent")
    if os.fork() == 0:
        if os.fork() == 0:
            os.setsid()
            linger(path, "grandchild")
        linger(path, "child")
    middle = os.fork()
    if middle == 0:
        os.setsid()
        if os.fork() == 0:
            if "--scrub-daemon" in flags:
                os.execve(sys.executable, [sys.executable, "-c", _SCRUBBED_DAEMON, path], {})
            if "--daemon-exits" in flags:
                report(path, "daemon")
                os._exit(0)
            linger(path, "daemon")
        os._exit(0)
    os.waitpid(middle, 0)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
