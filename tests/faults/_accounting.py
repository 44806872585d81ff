"""What reached the files, what was counted, what the hostile agents say they sent.

After Operations stopped: the ledger and diagnostics are read from disk, each instance's
final counters from the last snapshot (written after every agent stopped), and each
agent's own count of the lines it wrote from ``sent-<pid>.json`` in its instance dir.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from faults._ops import PLUGIN
from mimolo.dataroot import DataRoot
from mimolo.operations.agent_state import AgentState
from mimolo.operations.snapshot import read_snapshot

# Diagnostics kinds that are an agent line's own record (one line, one record).
LINE_RECORD_KINDS: Final = frozenset(
    {"log", "status", "error", "heartbeat", "ack", "widget_frame", "unexpected_handshake"}
)
# drop_counts keys that count something other than an agent line (a flush Operations
# could not send, the report of a rejected line, stderr chatter, the shared writer).
NON_LINE_DROPS: Final = frozenset(
    {"flush_command", "rejected_line", "unknown_message", "stderr", "diagnostics"}
)


def _jsonl(paths: Iterable[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for path in paths:
        for line in path.read_bytes().splitlines():
            out.append(json.loads(line))
    return out


def ledger_records(root: DataRoot) -> list[dict[str, Any]]:
    """Every evidence record on disk (quarantine files excluded), in file order."""
    files = sorted(root.evidence_dir.glob("[0-9][0-9][0-9][0-9]/*.evidence.jsonl"))
    return _jsonl(files)


def diagnostics_records(root: DataRoot) -> list[dict[str, Any]]:
    return _jsonl(sorted(root.diagnostics_dir.glob("*.diagnostics.jsonl")))


def final_states(root: DataRoot) -> dict[str, AgentState]:
    """Each instance's counters as of Operations' last snapshot (after the agents stopped)."""
    snapshot = read_snapshot(root)
    assert snapshot is not None, "Operations left no snapshot"
    assert snapshot.state == "stopped", f"the last snapshot says {snapshot.state!r}"
    return {st.instance_id: st for st in snapshot.instances}


@dataclass(frozen=True)
class Sent:
    """What one instance's processes wrote, summed over its runs."""

    counts: Counter[str]
    runs: int
    final: bool  # every run finished its stop sequence and saved an exact count


def sent_by(root: DataRoot, iid: str) -> Sent:
    counts: Counter[str] = Counter()
    files = sorted(root.instance_dir(PLUGIN, iid).glob("sent-*.json"))
    final = bool(files)
    for path in files:
        data = json.loads(path.read_text())
        counts.update(data["sent"])
        final = final and bool(data["final"])
    return Sent(counts=counts, runs=len(files), final=final)


@dataclass(frozen=True)
class Balance:
    """One instance: lines sent vs. lines kept or counted."""

    iid: str
    sent: int
    ledger: int
    records: int
    dropped: int
    rejected: int

    @property
    def unaccounted(self) -> int:
        return self.sent - self.ledger - self.records - self.dropped - self.rejected

    def __str__(self) -> str:
        return (
            f"{self.iid}: sent {self.sent} = ledger {self.ledger} + diagnostics {self.records}"
            f" + dropped {self.dropped} + rejected {self.rejected} + unaccounted "
            f"{self.unaccounted}"
        )


def balances(root: DataRoot, iids: Iterable[str]) -> list[Balance]:
    ledger = Counter(r["instance_id"] for r in ledger_records(root))
    diag = diagnostics_records(root)
    records = Counter(r.get("instance_id") for r in diag if r["kind"] in LINE_RECORD_KINDS)
    states = final_states(root)
    out = []
    for iid in iids:
        sent = sent_by(root, iid)
        assert sent.final, f"{iid} was killed before it finished its stop sequence"
        st = states[iid]
        out.append(
            Balance(
                iid=iid,
                sent=sum(n for kind, n in sent.counts.items() if kind != "handshake"),
                ledger=ledger[iid],
                records=records[iid],
                dropped=sum(n for k, n in st.drop_counts.items() if k not in NON_LINE_DROPS),
                rejected=sum(st.rejected_lines.values()),
            )
        )
    return out


def diagnostics_drop_total(root: DataRoot) -> int:
    """Records the shared diagnostics writer reported dropping (queue full)."""
    return sum(
        int(r.get("count", 0))
        for r in diagnostics_records(root)
        if r["kind"] == "drops" and r.get("what") == "diagnostics"
    )


def assert_every_drop_counted(root: DataRoot, iids: Iterable[str]) -> list[Balance]:
    """Every line an agent sent reached the ledger or diagnostics, or was counted as
    dropped or rejected; lines the shared writer lost are within its reported drops."""
    found = balances(root, list(iids))
    text = "\n".join(str(b) for b in found)
    phantom = [b for b in found if b.unaccounted < 0]
    assert not phantom, f"more lines kept or counted than sent (double counting):\n{text}"
    lost = sum(b.unaccounted for b in found)
    reported = diagnostics_drop_total(root)
    assert lost <= reported, (
        f"{lost} line(s) vanished uncounted ({reported} reported by diagnostics drops):\n{text}"
    )
    return found


def assert_summary_drops_reported(root: DataRoot, iids: Iterable[str]) -> None:
    """Summaries are evidence: the ``drops`` records add up to each state's summary drops."""
    states = final_states(root)
    reported: Counter[str] = Counter()
    for r in diagnostics_records(root):
        if r["kind"] == "drops" and "counts" in r:
            reported[str(r.get("instance_id"))] += int(r["counts"].get("summary", 0))
    for iid in iids:
        counted = states[iid].drop_counts.get("summary", 0)
        assert reported[iid] == counted, (
            f"{iid}: {counted} summaries dropped, {reported[iid]} reported in drops records"
        )


def assert_ledger_intact(root: DataRoot) -> list[dict[str, Any]]:
    """seq runs 1, 2, 3 … across every file: nothing lost, nothing repeated."""
    records = ledger_records(root)
    seqs = [r["seq"] for r in records]
    expected = list(range(1, len(seqs) + 1))
    if seqs != expected:
        gaps = [(a, b) for a, b in itertools.pairwise(seqs) if b != a + 1][:5]
        raise AssertionError(f"ledger seq not consecutive from 1: first breaks {gaps}")
    return records
