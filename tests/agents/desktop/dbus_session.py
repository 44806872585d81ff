"""A private D-Bus session bus for tests (``dbus-daemon --nofork`` with its own config)
and an idle monitor of the tests' own on it, served by jeepney in a thread."""

from __future__ import annotations

import contextlib
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from jeepney import HeaderFields, MessageType, new_error, new_method_return
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import DBusConnection, open_dbus_connection

from mimolo.agents.desktop_activity.dbus_backend import MUTTER, IdleSource
from mimolo.process_group import stop_popen

DEADLINE_S = 30.0

CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={dir}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
{policy}
  </policy>
</busconfig>
"""


OPEN_POLICY = """    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>"""
# Without the eavesdrop rules this dbus-daemon authenticates clients and then never
# delivers the bus's reply to Hello: a bus that hangs, for the connect deadline test.
SILENT_POLICY = """    <allow send_destination="*"/>
    <allow own="*"/>"""


@contextlib.contextmanager
def session_bus(tmp: Path, *, policy: str = OPEN_POLICY) -> Iterator[str]:
    """Run a session bus for the block; yields its address."""
    tmp.mkdir(mode=0o700, exist_ok=True)
    config = tmp / "session.conf"
    config.write_text(CONFIG.format(dir=tmp, policy=policy), encoding="utf-8")
    proc = subprocess.Popen(
        ["dbus-daemon", f"--config-file={config}", "--nofork", "--print-address=1"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        address = proc.stdout.readline().decode().strip()
        if not address:
            raise RuntimeError("dbus-daemon printed no address")
        yield address
    finally:
        stop_popen(proc, label="dbus-daemon", grace_s=5.0)
        if proc.stdout is not None:
            proc.stdout.close()


@dataclass
class IdleMonitorService:
    """Answers ``source``'s idle method with the time since ``touch`` (in its unit)."""

    address: str
    source: IdleSource = MUTTER
    last_input: float = field(default_factory=time.monotonic)
    calls: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _conn: DBusConnection | None = None

    def touch(self, idle_s: float = 0.0) -> None:
        """Input ``idle_s`` seconds ago."""
        self.last_input = time.monotonic() - idle_s

    def start(self) -> IdleMonitorService:
        conn = open_dbus_connection(self.address)
        reply = conn.send_and_get_reply(message_bus.RequestName(self.source.bus_name))
        assert reply.body == (1,), reply.body  # primary owner
        self._conn = conn
        self._thread = threading.Thread(target=self._serve, name="idle-monitor", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(DEADLINE_S)
        if self._conn is not None:
            self._conn.close()

    def _serve(self) -> None:
        assert self._conn is not None
        while not self._stop.is_set():
            try:
                msg = self._conn.receive(timeout=0.05)
            except TimeoutError:
                continue
            except OSError:
                return
            if msg.header.message_type != MessageType.method_call:
                continue
            fields = msg.header.fields
            if (
                fields.get(HeaderFields.path) == self.source.path
                and fields.get(HeaderFields.member) == self.source.method
            ):
                self.calls += 1
                idle = (time.monotonic() - self.last_input) / self.source.seconds_per_unit
                signature = "t" if self.source is MUTTER else "u"
                self._conn.send(new_method_return(msg, signature, (int(idle),)))
            else:
                self._conn.send(new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod"))


@contextlib.contextmanager
def idle_monitor(address: str, source: IdleSource = MUTTER) -> Iterator[IdleMonitorService]:
    service = IdleMonitorService(address, source).start()
    try:
        yield service
    finally:
        service.stop()


__all__ = [
    "DEADLINE_S",
    "OPEN_POLICY",
    "SILENT_POLICY",
    "IdleMonitorService",
    "idle_monitor",
    "session_bus",
]
