"""Verify a MiMoLo evidence pack on any machine: the standard library and ``cryptography``.

Run as ``python3 verify_pack.py PACK.zip`` (or on an extracted pack directory). Evidence
packs ship this file verbatim in ``verify/`` beside ``verify.py`` and ``chain.py``; it
checks, independently of MiMoLo:

1. every member's SHA-256 against ``manifest.json`` (and that nothing is added or missing);
2. the hash chain and the signed checkpoints of the pack's ledger days (``verify.py``);
3. that every record a segment comes from is in the pack as a full, verifying line;
4. the totals: each segment re-derived from its records' windows (the activity rule: active
   summaries with keep-alive, joined when they start within the cooldown, clipped to the
   invoice period), hours per UTC day rounded to 0.01 h, amounts to 0.01, compared with
   the manifest and with the figures embedded in the invoice PDF itself.

It prints ``OK`` or exactly what differs and exits 0 or 1; a pack it refuses to open
(unsafe member names, oversized members, zip bombs) is ``REFUSED`` with exit 1.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import stat
import sys
import tempfile
import zipfile
import zlib
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

try:
    from mimolo.evidence import verify as chain_verify
    from mimolo.protocol import chain
except ImportError:  # standalone, beside verify.py and chain.py in an evidence pack
    sys.dont_write_bytecode = True  # leave an extracted pack as it was
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import chain  # type: ignore[no-redef,import-not-found]
    import verify as chain_verify  # type: ignore[no-redef,import-not-found]

UTC = timezone.utc  # noqa: UP017 (kept for Pythons before 3.11)
PACK_VERSION = 1
TOTALS_MARKER = "mimolo_invoice"
MAX_MEMBERS = 5000
MAX_MEMBER_BYTES = 512 * 1024 * 1024
MAX_TOTAL_BYTES = 2 * 1024 * 1024 * 1024
MAX_RATIO = 200  # uncompressed / compressed, for members over 1 MiB
MAX_PDF_STREAM_BYTES = 1024 * 1024
CENT = Decimal("0.01")
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,199}")


# ---- opening a pack safely ------------------------------------------------------------


def _safe_name(name: str) -> bool:
    parts = name.split("/")
    return len(parts) <= 8 and all(_NAME.fullmatch(p) and p not in (".", "..") for p in parts)


def extract(pack: Path, into: Path, limits: dict[str, int] | None = None) -> None:
    """Copy the members of ``pack`` under ``into``; ValueError for any unsafe member."""
    caps = {"members": MAX_MEMBERS, "member": MAX_MEMBER_BYTES, "total": MAX_TOTAL_BYTES}
    caps.update(limits or {})
    try:
        archive = zipfile.ZipFile(pack)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ValueError(f"{pack}: not a readable zip ({exc})") from None
    with archive:
        infos = [i for i in archive.infolist() if not i.filename.endswith("/")]
        if len(infos) > caps["members"]:
            raise ValueError(f"{len(infos)} members (at most {caps['members']} are accepted)")
        names: set[str] = set()
        total = 0
        for info in infos:
            name = info.filename
            if not _safe_name(name) or name in names:
                raise ValueError(f"refused member name {name!r} (absolute, '..' or repeated)")
            if stat.S_ISLNK(info.external_attr >> 16):
                raise ValueError(f"refused member {name!r}: a symbolic link")
            names.add(name)
            if info.file_size > caps["member"]:
                raise ValueError(
                    f"member {name!r} is {info.file_size} bytes (cap {caps['member']})"
                )
            ratio = info.file_size / max(1, info.compress_size)
            if info.file_size > 1024 * 1024 and ratio > MAX_RATIO:
                raise ValueError(f"member {name!r} expands {ratio:.0f}x: refused as a zip bomb")
            total += info.file_size
            if total > caps["total"]:
                raise ValueError(f"the members add up to over {caps['total']} bytes")
        for info in infos:
            target = into.joinpath(*info.filename.split("/"))
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            copied = 0
            with archive.open(info) as src, open(target, "xb") as dst:
                target.chmod(0o600)
                while chunk := src.read(1024 * 1024):
                    copied += len(chunk)
                    if copied > info.file_size:
                        raise ValueError(f"member {info.filename!r} is longer than it claims")
                    dst.write(chunk)


def member_files(root: Path) -> dict[str, Path]:
    """Every regular file under ``root`` by its ``/``-joined relative name (no symlinks;
    Python's own ``__pycache__`` of an extracted verifier is not a member)."""
    out: dict[str, Path] = {}
    for path in sorted(root.rglob("*")):
        if "__pycache__" in path.relative_to(root).parts:
            continue
        if path.is_symlink():
            raise ValueError(f"refused {path}: a symbolic link")
        if path.is_file():
            out["/".join(path.relative_to(root).parts)] = path
    return out


# ---- the invoice's own figures, read from its PDF --------------------------------------

_STREAM = re.compile(rb"/Length\s+(\d+)\s*(?:/|>>)")


def pdf_invoice_totals(pdf: bytes) -> dict[str, Any]:
    """The JSON an invoice PDF embeds with its totals; ValueError when it has none (or two)."""
    found: list[dict[str, Any]] = []
    for marker in re.finditer(rb"/Type\s*/EmbeddedFile\b", pdf):
        start = pdf.rfind(b" obj", 0, marker.start())
        head_end = pdf.find(b"stream", marker.end())
        if start < 0 or head_end < 0 or b"endobj" in pdf[marker.end() : head_end]:
            continue
        head = pdf[start:head_end]
        length = _STREAM.search(head)
        if length is None or b"/FlateDecode" not in head:
            continue
        begin = head_end + 6
        begin += 2 if pdf[begin : begin + 2] == b"\r\n" else 1
        raw = pdf[begin : begin + int(length.group(1))]
        inflate = zlib.decompressobj()
        try:
            data = inflate.decompress(raw, MAX_PDF_STREAM_BYTES)
            doc = json.loads(data) if not inflate.unconsumed_tail else None
        except (zlib.error, ValueError):
            continue
        if isinstance(doc, dict) and TOTALS_MARKER in doc:
            found.append(doc)
    if len(found) != 1:
        raise ValueError(f"the PDF embeds {len(found)} MiMoLo invoice totals (expected one)")
    return found[0]


# ---- re-deriving the figures from the records ------------------------------------------


def _time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a time")
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _epoch(value: Any) -> float:
    return _time(value).timestamp()


def activity_span(line: dict[str, Any], policy: dict[str, Any]) -> tuple[float, float, str | None]:
    """``(start, end, client)`` of a record that marks activity; ValueError if it does not."""
    summary = line.get("record")
    if not isinstance(summary, dict) or summary.get("type") != "summary":
        raise ValueError("not a summary record")
    data: dict[str, Any] = summary["data"] if isinstance(summary.get("data"), dict) else {}
    signal = data.get("activity_signal")
    if not isinstance(signal, dict) or signal.get("keep_alive") is not True:
        raise ValueError("no activity_signal with keep_alive true")
    active = policy.get("active_instances")
    if active is None and signal.get("mode") != "active":
        raise ValueError("its activity_signal is not active")
    if active is not None and line.get("instance_id") not in active:
        raise ValueError("its instance is not one the policy counts as active")
    window = data.get("window")
    if isinstance(window, dict):
        start, end = _epoch(window.get("start")), _epoch(window.get("end"))
    else:
        start = end = _epoch(summary.get("timestamp"))
    if end < start:
        raise ValueError("its window ends before it starts")
    client = data.get("client_id") or policy.get("client_of_instance", {}).get(
        line.get("instance_id")
    )
    return start, end, client if isinstance(client, str) else None


def derive_segment(
    spans: list[tuple[float, float]], cooldown_s: float, lo: float, hi: float
) -> tuple[datetime, datetime]:
    """One segment from its activity spans: each must start within the cooldown of the
    running end; the segment ends at its last activity, clipped to ``[lo, hi]``."""
    spans = sorted(spans)
    end = spans[0][1]
    for start, stop in spans[1:]:
        if start - end > cooldown_s:
            raise ValueError("its records are more than the cooldown apart (two segments)")
        end = max(end, stop)
    first = datetime.fromtimestamp(max(spans[0][0], lo), UTC)
    return first, datetime.fromtimestamp(min(end, hi), UTC)


def day_seconds(segments: list[tuple[datetime, datetime]]) -> dict[date, float]:
    """Seconds of work per UTC day (a segment crossing midnight is split at it)."""
    out: dict[date, float] = {}
    for start, end in sorted(segments):
        a, b = start.timestamp(), end.timestamp()
        pieces: list[tuple[date, float]] = []
        index = int(a // 86400)
        while True:
            day_end = (index + 1) * 86400.0
            pieces.append((date(1970, 1, 1) + timedelta(days=index), max(0.0, min(b, day_end) - a)))
            if b <= day_end:
                break
            a, index = day_end, index + 1
        if len(pieces) == 1:
            pieces = [(pieces[0][0], (end - start).total_seconds())]
        for day, seconds in pieces:
            out[day] = out.get(day, 0.0) + seconds
    return out


def invoice_figures(days: dict[date, float], rate: Decimal) -> dict[str, Any]:
    """Hours per day to 0.01 h (half up), amounts to 0.01, and their sums."""
    lines = []
    for day, seconds in sorted(days.items()):
        hours = (Decimal(repr(seconds)) / 3600).quantize(CENT, rounding=ROUND_HALF_UP)
        amount = (hours * rate).quantize(CENT, rounding=ROUND_HALF_UP)
        lines.append({"day": day.isoformat(), "hours": str(hours), "amount": str(amount)})
    hours_sum = sum((Decimal(x["hours"]) for x in lines), Decimal("0.00"))
    amount_sum = sum((Decimal(x["amount"]) for x in lines), Decimal("0.00"))
    return {"hours": str(hours_sum), "amount": str(amount_sum), "lines": lines}


# ---- the checks -----------------------------------------------------------------------


class Outcome:
    """What a verification found: problems (each one line of text) and a summary."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.summary = ""
        self.figures: dict[str, Any] = {}

    def add(self, text: str) -> None:
        self.problems.append(text)

    @property
    def ok(self) -> bool:
        return not self.problems


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_members(files: dict[str, Path], manifest: dict[str, Any], out: Outcome) -> None:
    listed = manifest.get("members")
    if not isinstance(listed, dict):
        out.add("manifest.json: no 'members' table")
        return
    for name in sorted(set(listed) | set(files) - {"manifest.json"}):
        if name not in files:
            out.add(f"member {name}: listed in the manifest but missing from the pack")
        elif name not in listed:
            out.add(f"member {name}: in the pack but not listed in the manifest")
        elif _sha256(files[name]) != listed[name]:
            out.add(f"member {name}: its sha256 differs from the manifest")


def full_records(evidence_dir: Path) -> dict[int, dict[str, Any]]:
    """Every full (not redacted) record line of the pack whose hash recomputes, by seq."""
    out: dict[int, dict[str, Any]] = {}
    for _, path in chain_verify.day_files(evidence_dir):
        for line in path.read_bytes().splitlines():
            link = chain.parse_link(line)
            if link is None or link.redacted or link.recomputed() != link.hash:
                continue
            try:
                doc = json.loads(chain.body_of(line))
            except ValueError:
                continue
            if isinstance(doc, dict):
                out[link.seq] = doc
    return out


def check_segments(
    root: Path, manifest: dict[str, Any], records: dict[int, dict[str, Any]], out: Outcome
) -> dict[str, Any] | None:
    """Re-derive every segment from its records; the recomputed invoice figures."""
    invoice, policy = manifest.get("invoice", {}), manifest.get("policy", {})
    try:
        segments = json.loads((root / "segments.json").read_bytes())["segments"]
        lo, hi = _epoch(invoice["from"]), _epoch(invoice["to"])
        cooldown, rate = float(policy["cooldown_s"]), Decimal(str(invoice["rate"]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        out.add(f"segments.json / manifest: unreadable ({exc!r})")
        return None
    used: set[int] = set()
    derived: list[tuple[datetime, datetime]] = []
    for n, seg in enumerate(segments, start=1):
        seqs, attached = list(seg.get("seqs", [])), list(seg.get("attached_seqs", []))
        where = f"segment {n} ({seg.get('start')})"
        for seq in seqs + attached:
            if seq in used:
                out.add(f"{where}: record seq {seq} is claimed by another segment too")
            used.add(seq)
            if seq not in records:
                out.add(f"{where}: record seq {seq} is not in the pack as a full, verifying line")
        if len(seqs) + len(attached) != seg.get("summary_count"):
            out.add(f"{where}: summary_count {seg.get('summary_count')} but names "
                    f"{len(seqs) + len(attached)} records")  # fmt: skip
        spans = []
        for seq in seqs:
            if seq in records:
                try:
                    start, end, client = activity_span(records[seq], policy)
                except ValueError as exc:
                    out.add(f"{where}: record seq {seq} cannot count as work: {exc}")
                    continue
                if policy.get("group_by_client", True) and [client] != (
                    seg.get("client_ids") or [None]
                ):
                    out.add(f"{where}: record seq {seq} is client {client!r}, not the segment's")
                spans.append((start, end))
        if not spans:
            out.add(f"{where}: no record that marks activity")
            continue
        try:
            start_at, end_at = derive_segment(spans, cooldown, lo, hi)
        except ValueError as exc:
            out.add(f"{where}: {exc}")
            continue
        derived.append((start_at, end_at))
        claimed = (seg.get("start"), seg.get("end"), seg.get("duration_s"))
        duration = (end_at - start_at).total_seconds()
        if (_time(claimed[0]), _time(claimed[1])) != (start_at, end_at) or claimed[2] != duration:
            out.add(f"{where}: the records give {start_at.isoformat()} to {end_at.isoformat()} "
                    f"({duration} s), the pack says {claimed[1]} ({claimed[2]} s)")  # fmt: skip
    return invoice_figures(day_seconds(derived), rate)


def check_artifacts(
    files: dict[str, Path], records: dict[int, dict[str, Any]], out: Outcome
) -> None:
    """Each listed artifact is one its record references; included files match its hash."""
    try:
        entries = json.loads(files["artifacts.json"].read_bytes())["artifacts"]
    except (KeyError, ValueError, TypeError) as exc:
        out.add(f"artifacts.json: unreadable ({exc!r})")
        return
    for entry in entries:
        rec = records.get(entry.get("seq"), {}).get("record", {})
        refs = rec.get("data", {}).get("artifacts", []) if isinstance(rec, dict) else []
        key = (entry.get("artifact_id"), entry.get("sha256"))
        if not any(isinstance(r, dict) and (r.get("artifact_id"), r.get("sha256")) == key
                   for r in refs):  # fmt: skip
            out.add(f"artifacts.json: {key[0]} is not referenced by record seq {entry.get('seq')}")
        member = entry.get("member")
        if entry.get("included") and member not in files:
            out.add(f"artifacts.json: {member} is missing from the pack")
        elif entry.get("included") and _sha256(files[member]) != key[1]:
            out.add(f"member {member}: not the artifact its record references (sha256)")


def compare(label: str, claimed: dict[str, Any], figures: dict[str, Any], out: Outcome) -> None:
    for key in ("hours", "amount"):
        if str(claimed.get(key)) != figures[key]:
            out.add(f"{label}: {key} {claimed.get(key)} but the records give {figures[key]}")
    if "lines" in claimed and claimed["lines"] != figures["lines"]:
        theirs = {str(x.get("day")): x for x in claimed["lines"] if isinstance(x, dict)}
        ours = {str(x["day"]): x for x in figures["lines"]}
        for day in sorted(set(theirs) | set(ours)):
            if theirs.get(day) != ours.get(day):
                out.add(f"{label}: the line of {day} is {theirs.get(day)}, the records give "
                        f"{ours.get(day)}")  # fmt: skip


def check_dir(root: Path) -> Outcome:
    """Verify an extracted pack directory."""
    out = Outcome()
    files = member_files(root)
    try:
        manifest = json.loads(files["manifest.json"].read_bytes())
        if manifest.get("pack_version") != PACK_VERSION:
            raise ValueError(f"pack_version {manifest.get('pack_version')!r}, not {PACK_VERSION}")
    except (KeyError, ValueError, AttributeError) as exc:
        out.add(f"manifest.json: unusable ({exc!r})")
        return out
    check_members(files, manifest, out)
    try:
        public_raw = chain_verify.load_public_key(root / "host_ed25519.pub")
    except (OSError, ValueError) as exc:
        out.add(f"host_ed25519.pub: unusable ({exc})")
        return out
    if chain.key_id(public_raw) != manifest.get("key_id"):
        out.add(f"host_ed25519.pub is key {chain.key_id(public_raw)}, the manifest names "
                f"{manifest.get('key_id')}")  # fmt: skip
    evidence_dir = root / "evidence"
    days = chain_verify.day_files(evidence_dir)
    report = chain_verify.verify(evidence_dir, public_raw, day_from=days[0][0] if days else None)
    for p in report.problems:
        where = f"evidence/{p.file}:{p.line}" if p.line else f"evidence/{p.file}"
        out.add(f"chain: {p.kind} at {where}: {p.message}")
    records = full_records(evidence_dir)
    figures = check_segments(root, manifest, records, out)
    check_artifacts(files, records, out)
    if figures is not None:
        out.figures = figures
        compare("manifest", manifest.get("invoice", {}), figures, out)
        try:
            compare(
                "invoice.pdf", pdf_invoice_totals(files["invoice.pdf"].read_bytes()), figures, out
            )
        except (KeyError, ValueError) as exc:
            out.add(f"invoice.pdf: no readable totals ({exc})")
    inv, got = manifest.get("invoice", {}), figures or {}
    out.summary = (
        f"invoice {inv.get('number')} for {inv.get('client')}: {got.get('hours')} h, "
        f"{inv.get('currency')} {got.get('amount')}; {report.records} chained records over "
        f"{len(report.days)} day(s), {report.checkpoints} signed checkpoints, key {report.key_id}"
    )
    return out


def verify_pack(path: Path, limits: dict[str, int] | None = None) -> Outcome:
    """Verify a pack zip (extracted into a private temp dir) or an extracted directory."""
    if path.is_dir():
        return check_dir(path)
    scratch = Path(tempfile.mkdtemp(prefix="mimolo-pack-"))
    try:
        extract(path, scratch / "pack", limits)
        return check_dir(scratch / "pack")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] in ("-h", "--help"):
        print("usage: python3 verify_pack.py PACK.zip|PACK_DIR", file=sys.stderr)
        return 2
    try:
        outcome = verify_pack(Path(argv[0]))
    except (ValueError, OSError) as exc:
        print(f"REFUSED: {exc}")
        return 1
    for problem in outcome.problems:
        print(f"DIFFERS: {problem}")
    print(
        ("OK: " if outcome.ok else f"FAILED ({len(outcome.problems)} problem(s)): ")
        + outcome.summary
    )
    return 0 if outcome.ok else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
