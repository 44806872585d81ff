"""Real ledgers, real invoices (the reporter subprocess, WeasyPrint) and real packs for tests."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from mimolo.dataroot import DataRoot
from mimolo.evidence.pack import PackSource, build_pack, write_pack
from mimolo.operations.host_key import host_public_key_path, load_or_create_host_key
from mimolo.operations.ledger import Ledger
from mimolo.reports.runner import run_report_sync
from mimolo.timeline import TimelinePolicy, timeline_for

DAY0 = date(2026, 3, 1)  # the day before the invoiced period
RATE = "92.50"
TIMEOUT_S = 600


def summary(at: datetime, client: str | None, *, mode: str = "active", minutes: int = 5) -> bytes:
    data: dict[str, object] = {
        "activity_signal": {"mode": mode, "keep_alive": mode == "active"},
        "window": {
            "start": at.isoformat().replace("+00:00", "Z"),
            "end": (at + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z"),
        },
    }
    if client is not None:
        data["client_id"] = client
    doc = {
        "type": "summary",
        "timestamp": (at + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z"),
        "agent_id": "a1",
        "agent_label": "A",
        "agent_version": "1.0.0",
        "data": data,
    }
    return json.dumps(doc).encode() + b"\n"


def write_mixed_ledger(root: DataRoot, days: int = 3) -> None:
    """Per day: acme work 09:00-10:00 (12 records), globex work in the afternoon, and
    passive screen records across both; then a clean shutdown."""
    ledger = Ledger(root, host="testhost", host_key=load_or_create_host_key(root))
    ledger.open()
    for d in range(days):
        base = datetime.combine(DAY0 + timedelta(days=d), datetime.min.time(), UTC)
        for i in range(12):
            at = base + timedelta(hours=9, minutes=5 * i)
            ledger.append(
                plugin_id="agent_example", instance_id="work-acme", instance_label="Acme",
                raw_summary=summary(at, "acme"), received_at=at + timedelta(minutes=5),
            )  # fmt: skip
            if i % 4 == 0:
                ledger.append(
                    plugin_id="agent_example", instance_id="screen", instance_label="Screen",
                    raw_summary=summary(at, None, mode="passive"), received_at=at,
                )  # fmt: skip
            g_at = base + timedelta(hours=14, minutes=5 * i)
            ledger.append(
                plugin_id="agent_example", instance_id="work-globex", instance_label="Globex",
                raw_summary=summary(g_at, "globex"), received_at=g_at + timedelta(minutes=5),
            )  # fmt: skip
        ledger.commit()
        ledger.sync()
    ledger.close()


class Invoice:
    """A generated invoice and what it was generated from."""

    def __init__(self, root: DataRoot, first: date, last: date, client: str = "acme") -> None:
        self.root = root
        self.client = client
        self.window = (
            datetime.combine(first, datetime.min.time(), UTC),
            datetime.combine(last + timedelta(days=1), datetime.min.time(), UTC),
        )
        self.policy = TimelinePolicy()
        timeline, _ = timeline_for(root, *self.window, self.policy, client_id=client, cache=None)
        self.segments = timeline.segments
        params = {
            "from": self.window[0].isoformat(),
            "to": self.window[1].isoformat(),
            "client_id": client,
            "rate": RATE,
            "invoice_number": "INV-7",
        }
        result = run_report_sync(root, "invoice", params, self.segments)
        self.pdf_path = Path(result.path)

    def source(self, *, pdf: bytes | None = None, with_artifacts: bool = False) -> PackSource:
        return PackSource(
            root=self.root,
            public_key_pem=host_public_key_path(self.root).read_bytes(),
            segments=self.segments,
            policy=self.policy,
            window=self.window,
            client_id=self.client,
            pdf=pdf if pdf is not None else self.pdf_path.read_bytes(),
            with_artifacts=with_artifacts,
        )

    def pack(self, path: Path) -> Path:
        write_pack(path, build_pack(self.source()))
        return path


def read_members(pack: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(pack) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def write_members(pack: Path, members: dict[str, bytes], *, rehash: bool = True) -> Path:
    """Write a (tampered) pack; ``rehash`` updates the manifest so only the content differs."""
    if rehash:
        manifest = json.loads(members["manifest.json"])
        manifest["members"] = {
            name: hashlib.sha256(data).hexdigest()
            for name, data in members.items()
            if name != "manifest.json"
        }
        members = {**members, "manifest.json": json.dumps(manifest).encode()}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    pack.write_bytes(buf.getvalue())
    return pack


def extract_verifier(pack: Path, into: Path) -> Path:
    """The pack's ``verify/`` folder, extracted as a recipient would."""
    with zipfile.ZipFile(pack) as archive:
        for name in archive.namelist():
            if name.startswith("verify/"):
                target = into / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.read(name))
    return into / "verify" / "verify_pack.py"


def run_verifier(python: Path, pack: Path, workdir: Path) -> subprocess.CompletedProcess[str]:
    """The pack's own verify_pack.py, outside the repo, without PYTHONPATH."""
    script = extract_verifier(pack, workdir)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(
        [str(python), str(script), str(pack)],
        cwd=workdir, env=env, capture_output=True, text=True, timeout=TIMEOUT_S,
    )  # fmt: skip
