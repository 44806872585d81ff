"""Evidence packs from the Reports view: the pack of an invoice PDF already generated.

The PDF carries its own figures (client, period, rate, totals); the pack re-derives the
segments of that period under the configured policy, checks they still give the PDF's
figures, and writes ``<invoice>.evidence.zip`` beside it. Which reports offer a pack is
decided by ``pack_eligible`` alone: every generated invoice for now (issued invoices, the
review issue's, do not exist yet); restricting it later is a change to that one function.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from mimolo.control.report_jobs import Progress
from mimolo.control.timeline_source import load_timeline
from mimolo.dataroot import DataRoot
from mimolo.errors import ConfigError
from mimolo.evidence.pack import (
    PackSource,
    build_pack,
    default_pack_path,
    invoice_totals,
    write_pack,
)
from mimolo.evidence.pack_figures import parse_time
from mimolo.operations.host_key import host_public_key_path


def pack_eligible(name: str) -> bool:
    """Whether the Reports view offers an evidence pack for the report file ``name``."""
    return name.startswith("invoice-") and name.endswith(".pdf")


def _build(root: DataRoot, invoice: Path) -> Path:
    pdf = invoice.read_bytes()
    totals = invoice_totals(pdf)
    try:
        start, end = parse_time(totals.get("from")), parse_time(totals.get("to"))
    except ValueError:
        raise ConfigError("the invoice names no usable period", field="name") from None
    client = totals.get("client")
    client_id = client if isinstance(client, str) else None
    loaded = load_timeline(root, start, end, client_id=client_id)
    try:
        key = host_public_key_path(root).read_bytes()
    except FileNotFoundError:
        raise ConfigError("Operations has no host key yet", field="name") from None
    source = PackSource(
        root=root,
        public_key_pem=key,
        segments=loaded.timeline.segments,
        policy=loaded.policy,
        window=(start, end),
        client_id=client_id,
        pdf=pdf,
    )
    target = default_pack_path(invoice)
    write_pack(target, build_pack(source))
    return target


async def run_pack_job(root: DataRoot, invoice: Path, progress: Progress) -> Path:
    """Build the pack in a worker thread (it reads and verifies ledger days)."""
    progress(0.1, f"collecting the evidence of {invoice.name}")
    target = await asyncio.to_thread(_build, root, invoice)
    progress(0.95, "verified")
    return target


__all__ = ["pack_eligible", "run_pack_job"]
