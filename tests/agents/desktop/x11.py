"""A real X session for tests: Xvfb, the openbox window manager, xterm windows with
distinct WM_CLASS and titles, focus switched and input synthesized with xdotool."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from Xlib import display, error

from mimolo.process_group import stop_popen
from mimolo.testing import xvfb_display

DEADLINE_S = 30.0


def _wm_running(name: str) -> bool:
    """Whether an EWMH window manager has announced itself on ``name``'s root."""
    try:
        conn = display.Display(name)
    except (error.DisplayError, OSError):
        return False
    try:
        root = conn.screen().root
        check = root.get_full_property(conn.intern_atom("_NET_SUPPORTING_WM_CHECK"), 0)
        return check is not None and bool(check.value)
    finally:
        conn.close()


@dataclass
class XSession:
    """One private display with a window manager; every process it starts is stopped."""

    display: str
    env: dict[str, str]
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _pointer: int = 0

    def spawn(self, argv: list[str]) -> subprocess.Popen[bytes]:
        """Start an X client on this display (its own process group)."""
        proc = subprocess.Popen(
            argv,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.procs.append(proc)
        return proc

    def xdotool(self, *args: str) -> str:
        """Run xdotool on this display; its output."""
        done = subprocess.run(
            ["xdotool", *args],
            env=self.env,
            capture_output=True,
            timeout=DEADLINE_S,
            check=True,
        )
        return done.stdout.decode()

    def window(self, klass: str, title: str) -> tuple[int, subprocess.Popen[bytes]]:
        """An xterm whose WM_CLASS class is ``klass`` and title ``title``; its window id."""
        proc = self.spawn(
            [
                "xterm",
                "-class",
                klass,
                "-title",
                title,
                "-xrm",
                "*allowTitleOps: false",
                "-e",
                "sleep",
                "3600",
            ]
        )
        out = self.xdotool("search", "--sync", "--class", f"^{klass}$")
        return int(out.split()[0]), proc

    def activate(self, wid: int) -> None:
        """Give ``wid`` the focus and wait until the window manager says it has it."""
        self.xdotool("windowactivate", "--sync", str(wid))

    def touch(self) -> None:
        """Synthesize input (XTest pointer motion): resets the server's idle counter."""
        self._pointer = (self._pointer + 37) % 500
        self.xdotool("mousemove", str(100 + self._pointer), str(100 + self._pointer // 2))

    def stop(self) -> None:
        for proc in reversed(self.procs):
            stop_popen(proc, label="x client", grace_s=5.0)
        self.procs.clear()


@contextlib.contextmanager
def x_session() -> Iterator[XSession]:
    """Xvfb + openbox; yields the session once the window manager is up."""
    with xvfb_display() as name:
        env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY",)}
        env["DISPLAY"] = name
        session = XSession(name, env)
        try:
            session.spawn(["openbox", "--sm-disable"])
            deadline = time.monotonic() + DEADLINE_S
            while not _wm_running(name):
                if time.monotonic() > deadline:
                    raise RuntimeError("openbox did not start")
                time.sleep(0.05)
            yield session
        finally:
            session.stop()


__all__ = ["DEADLINE_S", "XSession", "x_session"]
