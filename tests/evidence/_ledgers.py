"""Build real ledgers (through ``operations.ledger.Ledger`` with a host key) for the tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from mimolo.dataroot import DataRoot
from mimolo.evidence.verify import Report, load_public_key, verify
from mimolo.operations.host_key import host_public_key_path, load_or_create_host_key
from mimolo.operations.ledger import Ledger

FIRST_DAY = date(2026, 3, 1)


def summary(minute: int, client: str = "acme") -> bytes:
    at = datetime(2026, 3, 1, tzinfo=UTC) + timedelta(minutes=minute)
    return (
        b'{"type":"summary","timestamp":"'
        + at.isoformat().replace("+00:00", "Z").encode()
        + b'","agent_id":"a1","agent_label":"A","agent_version":"1.0.0","data":'
        b'{"activity_signal":{"mode":"active","keep_alive":true},"client_id":"'
        + client.encode()
        + b'","n":'
        + str(minute).encode()
        + b"}}\n"
    )


def write_days(root: DataRoot, days: int = 3, per_day: int = 10, *, key: bool = True) -> None:
    """``days`` days of ``per_day`` records each, then a clean shutdown."""
    ledger = Ledger(root, host="testhost", host_key=load_or_create_host_key(root) if key else None)
    ledger.open()
    for d in range(days):
        base = datetime.combine(FIRST_DAY + timedelta(days=d), datetime.min.time(), UTC)
        for i in range(per_day):
            ledger.append(
                plugin_id="agent_example",
                instance_id="a1",
                instance_label="A",
                raw_summary=summary(d * 1440 + i * 10),
                received_at=base + timedelta(hours=9, minutes=i),
            )
        ledger.commit()
        ledger.sync()
    ledger.close()


def day_path(root: DataRoot, d: int) -> Path:
    return root.evidence_file(FIRST_DAY + timedelta(days=d))


def checkpoint_of(root: DataRoot, d: int) -> Path:
    day = FIRST_DAY + timedelta(days=d)
    return root.evidence_dir / f"{day:%Y}" / f"{day:%Y%m%d}.checkpoint.json"


def run_verify(root: DataRoot, **kwargs: object) -> Report:
    return verify(root.evidence_dir, load_public_key(host_public_key_path(root)), **kwargs)  # type: ignore[arg-type]
