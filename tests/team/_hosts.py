"""Simulated machines for the team store tests: a data root each, with its own host key
and a real chained ledger written by ``operations.ledger.Ledger``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mimolo.dataroot import DataRoot
from mimolo.operations.host_key import host_public_key_path, load_or_create_host_key
from mimolo.operations.ledger import Ledger
from mimolo.team.admin import HostKeyFile, add_host
from mimolo.team.connect import connect

START = datetime(2026, 3, 30, 8, 0, tzinfo=UTC)  # two days before a month's end


def summary(n: int, at: datetime, client: str = "acme") -> bytes:
    stamp = at.isoformat().replace("+00:00", "Z")
    return (
        f'{{"type":"summary","timestamp":"{stamp}","agent_id":"a1","agent_label":"A",'
        f'"agent_version":"1.0.0","data":{{"activity_signal":{{"mode":"active",'
        f'"keep_alive":true}},"client_id":"{client}","n":{n}}}}}\n'
    ).encode()


@dataclass
class SimHost:
    """One machine: its data root, host id and writer conninfo."""

    root: DataRoot
    name: str
    host_id: str
    conninfo: str
    written: int = 0
    at: datetime = START

    def write(self, count: int, *, step: timedelta = timedelta(minutes=1)) -> int:
        """Append ``count`` records through a real Ledger (opened and closed: a restart of
        Operations each time); the last seq."""
        ledger = Ledger(self.root, host=self.name, host_key=load_or_create_host_key(self.root))
        ledger.open()
        for _ in range(count):
            self.written += 1
            self.at += step
            ledger.append(
                plugin_id="agent_example",
                instance_id="a1",
                instance_label="A",
                raw_summary=summary(self.written, self.at),
                received_at=self.at,
            )
            if self.written % 1000 == 0:
                ledger.commit()
        ledger.commit()
        ledger.sync()
        ledger.close()
        return ledger.last_seq


def make_host(base: Path, name: str, admin_conninfo: str, *, person: str = "") -> SimHost:
    """A new data root with a host key, registered in the store with its writer role."""
    root = DataRoot(base / name)
    load_or_create_host_key(root)
    key = HostKeyFile.read(host_public_key_path(root))
    with connect(admin_conninfo) as admin:
        row = add_host(admin, key, host_name=name, person=person or name.title())
    return SimHost(root, name, key.host_id, f"{admin_conninfo} user={row.role_name}")


__all__ = ["START", "SimHost", "make_host", "summary"]
