"""The X11 backend (python-xlib): EWMH focus, WM_CLASS, the owner's executable and input
idle from MIT-SCREEN-SAVER.

Every X call is guarded: a window that vanishes between two requests (BadWindow) is a
sample without focus, not a crash; a closed connection raises ``CaptureUnavailable`` so
the agent retries with backoff.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
from typing import Any, Final

import psutil
from Xlib import X, Xatom, display, error
from Xlib.xobject.drawable import Window

from mimolo.agents.desktop_activity.backends import MAX_TITLE_READ, Sample
from mimolo.errors import CaptureUnavailable

_CACHE_WINDOWS: Final = 256  # windows whose application and executable are remembered
_LOCAL_DISPLAY: Final = re.compile(r"(?:unix)?:(\d+)(?:\.\d+)?")
_TITLE_LONGS: Final = MAX_TITLE_READ  # 32-bit units read: a UTF-8 title of 4096 characters


def _text(value: Any, encoding: str = "utf-8") -> str | None:
    """A property value as text (broken bytes replaced)."""
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode(encoding, errors="replace")
    text = str(value)[:MAX_TITLE_READ]
    return text or None


class X11Backend:
    """Samples the EWMH active window of one X display."""

    def __init__(self, conn: display.Display) -> None:
        self._d = conn
        self._root = conn.screen().root
        atom = conn.intern_atom
        self._active = atom("_NET_ACTIVE_WINDOW")
        self._net_name = atom("_NET_WM_NAME")
        self._utf8 = atom("UTF8_STRING")
        self._pid = atom("_NET_WM_PID")
        self._host = socket.gethostname()
        self._idle_ok = conn.has_extension("MIT-SCREEN-SAVER")
        self._cache: dict[int, tuple[str | None, str | None]] = {}
        self._closed = False

    @classmethod
    def open(cls, name: str) -> X11Backend:
        """Connect to display ``name``; raise ``CaptureUnavailable`` saying why not."""
        local = _LOCAL_DISPLAY.fullmatch(name)
        if local and not os.path.exists(f"/tmp/.X11-unix/X{local.group(1)}"):
            # no server: say so without python-xlib's socket attempts (and their leaks)
            raise CaptureUnavailable(f"cannot open X display {name}: no X server socket")
        try:
            return cls(display.Display(name))
        except (error.DisplayError, error.ConnectionClosedError, OSError) as exc:
            raise CaptureUnavailable(f"cannot open X display {name}: {exc}") from None

    @property
    def name(self) -> str:
        return "x11"

    @property
    def limitation(self) -> str | None:
        if not self._idle_ok:
            return "input idle time is unavailable (no MIT-SCREEN-SAVER extension)"
        return None

    def sample(self) -> Sample:
        try:
            idle = self._idle_s()
            window = self._focused()
            if window is None:
                return Sample(None, None, None, idle)
            try:
                application, executable = self._identity(window)
                title = self._title(window)
            except error.XError:  # the window went away between two requests
                self._cache.pop(window.id, None)
                return Sample(None, None, None, idle)
            return Sample(application, executable, title, idle)
        except (error.ConnectionClosedError, OSError) as exc:
            raise CaptureUnavailable(f"X connection lost: {exc}") from None

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(error.ConnectionClosedError, OSError):
            self._d.close()

    # ---- X requests -----------------------------------------------------------------

    def _idle_s(self) -> float | None:
        if not self._idle_ok:
            return None
        info = self._root.screensaver_query_info()
        return float(info.idle) / 1000.0

    def _focused(self) -> Window | None:
        """The EWMH active window (the WM's answer), else the input focus's top level."""
        prop = self._root.get_property(self._active, Xatom.WINDOW, 0, 1)
        if prop is not None and prop.value:
            wid = int(prop.value[0])
            return self._d.create_resource_object("window", wid) if wid else None
        focus = self._d.get_input_focus().focus
        if not isinstance(focus, Window) or focus.id == self._root.id:
            return None
        for _ in range(16):  # climb to the client window that carries WM_CLASS
            try:
                if focus.get_wm_class() is not None:
                    return focus
                parent = focus.query_tree().parent
            except error.XError:
                return None
            if not isinstance(parent, Window) or parent.id == self._root.id:
                return None
            focus = parent
        return None

    def _identity(self, window: Window) -> tuple[str | None, str | None]:
        """(application, executable), cached per window: neither changes while it lives."""
        cached = self._cache.get(window.id)
        if cached is not None:
            return cached
        wm_class = window.get_wm_class()
        application = None
        if wm_class is not None:
            instance, klass = wm_class
            application = _text(klass) or _text(instance)
        executable = self._executable(window)
        application = application or executable
        if len(self._cache) >= _CACHE_WINDOWS:
            self._cache.clear()
        self._cache[window.id] = (application, executable)
        return application, executable

    def _executable(self, window: Window) -> str | None:
        """The owning process's executable name, when the window is from this machine."""
        machine = window.get_wm_client_machine()
        if machine and _text(machine) != self._host:
            return None
        prop = window.get_property(self._pid, Xatom.CARDINAL, 0, 1)
        if prop is None or not prop.value:
            return None
        try:
            return psutil.Process(int(prop.value[0])).name() or None
        except (psutil.Error, ValueError, OverflowError):
            return None

    def _title(self, window: Window) -> str | None:
        prop = window.get_property(self._net_name, self._utf8, 0, _TITLE_LONGS)
        if prop is not None and prop.value:
            return _text(prop.value)
        prop = window.get_property(Xatom.WM_NAME, X.AnyPropertyType, 0, _TITLE_LONGS)
        if prop is not None and prop.value:
            latin1 = prop.property_type == Xatom.STRING  # ICCCM: STRING is ISO 8859-1
            return _text(prop.value, "latin-1" if latin1 else "utf-8")
        return None


__all__ = ["X11Backend"]
