"""The D-Bus idle backend (jeepney, blocking): input idle time on Wayland sessions.

GNOME's Mutter answers ``org.gnome.Mutter.IdleMonitor.GetIdletime`` (milliseconds); other
desktops answer ``org.freedesktop.ScreenSaver.GetSessionIdleTime`` (seconds). No
compositor offers the focused window over a public D-Bus interface, so this backend sees
idle only and says so as its limitation.
"""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
from dataclasses import dataclass
from typing import Any, Final

from jeepney import DBusAddress, new_method_call
from jeepney.bus import get_bus
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import DBusConnection, prep_socket
from jeepney.wrappers import DBusErrorResponse, unwrap_msg

from mimolo.agents.desktop_activity.backends import FOCUS_UNAVAILABLE, Sample
from mimolo.errors import CaptureUnavailable

CALL_TIMEOUT_S: Final = 2.0
CONNECT_TIMEOUT_S: Final = 5.0


@dataclass(frozen=True, slots=True)
class IdleSource:
    """One D-Bus method that answers the idle time, and its unit."""

    bus_name: str
    path: str
    interface: str
    method: str
    seconds_per_unit: float


MUTTER: Final = IdleSource(
    "org.gnome.Mutter.IdleMonitor",
    "/org/gnome/Mutter/IdleMonitor/Core",
    "org.gnome.Mutter.IdleMonitor",
    "GetIdletime",
    0.001,
)
SCREENSAVER: Final = IdleSource(
    "org.freedesktop.ScreenSaver",
    "/org/freedesktop/ScreenSaver",
    "org.freedesktop.ScreenSaver",
    "GetSessionIdleTime",
    1.0,
)
SOURCES: Final = (MUTTER, SCREENSAVER)


def _call(conn: DBusConnection, source: IdleSource) -> float:
    """Ask ``source`` for the idle time in seconds."""
    address = DBusAddress(source.path, bus_name=source.bus_name, interface=source.interface)
    reply = conn.send_and_get_reply(new_method_call(address, source.method), timeout=CALL_TIMEOUT_S)
    body: Any = unwrap_msg(reply)
    value = body[0]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{source.method} answered {value!r}")
    return value * source.seconds_per_unit


def _connect(timeout_s: float = CONNECT_TIMEOUT_S) -> DBusConnection:
    """The session bus connection within a deadline. jeepney's ``Hello`` has none, and a
    bus that never answers must not stall the agent's main loop: the handshake runs in a
    helper thread, and past the deadline the socket is shut down, which ends it."""
    try:
        sock = prep_socket(get_bus("SESSION"), False, timeout=CALL_TIMEOUT_S)
    except Exception as exc:  # the boundary: no bus, refused auth, a bad address
        raise CaptureUnavailable(f"cannot connect to the session bus: {exc}") from None
    box: queue.SimpleQueue[DBusConnection | BaseException] = queue.SimpleQueue()

    def _hello() -> None:
        try:
            box.put(DBusConnection(sock))
        except BaseException as exc:
            box.put(exc)

    helper = threading.Thread(target=_hello, name="dbus-hello", daemon=True)
    helper.start()
    try:
        got = box.get(timeout=timeout_s)
    except queue.Empty:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        helper.join(timeout_s)
        sock.close()
        raise CaptureUnavailable(f"the session bus did not answer within {timeout_s:g} s") from None
    if isinstance(got, BaseException):
        sock.close()
        raise CaptureUnavailable(f"cannot connect to the session bus: {got}") from None
    return got


class DbusIdleBackend:
    """Idle time from the first source on the session bus that answers."""

    def __init__(self, conn: DBusConnection, source: IdleSource) -> None:
        self._conn = conn
        self.source = source
        self._closed = False

    @classmethod
    def open(cls) -> DbusIdleBackend:
        """Connect to the session bus and pick a source; raise ``CaptureUnavailable``."""
        conn = _connect()
        try:
            for source in SOURCES:
                owned = conn.send_and_get_reply(
                    message_bus.NameHasOwner(source.bus_name), timeout=CALL_TIMEOUT_S
                )
                if not unwrap_msg(owned)[0]:
                    continue
                try:
                    _call(conn, source)
                except (DBusErrorResponse, ValueError, IndexError, TypeError):
                    continue
                return cls(conn, source)
        except (OSError, DBusErrorResponse) as exc:
            conn.close()
            raise CaptureUnavailable(f"session bus failed: {exc}") from None
        conn.close()
        names = " or ".join(s.bus_name for s in SOURCES)
        raise CaptureUnavailable(f"no idle monitor on the session bus ({names})")

    @property
    def name(self) -> str:
        return "dbus"

    @property
    def limitation(self) -> str | None:
        return FOCUS_UNAVAILABLE

    def sample(self) -> Sample:
        try:
            idle = _call(self._conn, self.source)
        except (OSError, DBusErrorResponse, ValueError, IndexError, TypeError) as exc:
            raise CaptureUnavailable(f"idle monitor lost: {exc}") from None
        return Sample(None, None, None, idle)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._conn.close()


__all__ = ["MUTTER", "SCREENSAVER", "SOURCES", "DbusIdleBackend", "IdleSource"]
