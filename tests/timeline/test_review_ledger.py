"""The review over real ledger files: the no-review path, facts for rules, rule catch,
the ledger left byte for byte as it was, inputs read from the config."""

from __future__ import annotations

import hashlib
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from mimolo.dataroot import DataRoot, write_atomic
from mimolo.protocol.evidence import wrap_summary
from mimolo.protocol.review import Adjustment, Assignment, Rule, RuleMatch
from mimolo.timeline import DayCache, DiskCache, TimelinePolicy, timeline_for
from mimolo.timeline.facts import FactsCache, parse_facts
from mimolo.timeline.policy import review_inputs_from_config
from mimolo.timeline.review import reviewed_timeline
from mimolo.timeline.review_io import adjustments_path
from mimolo.timeline.rules import DEFAULT_CATCH, rule_catch

from ._ledger import ledger_line
from ._review import adj, inputs

DAY = datetime(2026, 3, 2, tzinfo=UTC)
NOW = DAY + timedelta(days=5)
WINDOW = (DAY, DAY + timedelta(days=1))


def t(minutes: float) -> datetime:
    return DAY + timedelta(hours=9, minutes=minutes)


def desktop_line(seq: int, start: float, end: float, app: str, title: str) -> bytes:
    data: dict[str, Any] = {
        "activity_signal": {"mode": "active", "keep_alive": True, "reason": "input"},
        "window": {"start": t(start), "end": t(end)},
        "state": "active",
        "applications": [
            {"application": "Terminal", "executable": "xterm", "seconds": 5.0, "titles": []},
            {
                "application": app,
                "executable": app.lower(),
                "seconds": 50.0,
                "titles": [{"title": "other", "seconds": 1.0}, {"title": title, "seconds": 40.0}],
            },
        ],
    }
    summary = {
        "type": "summary",
        "timestamp": t(end),
        "agent_id": "desk",
        "agent_label": "D",
        "agent_version": "1.0.0",
        "data": data,
    }
    return wrap_summary(
        seq=seq,
        record_id=f"d{seq}",
        received_at=t(end),
        plugin_id="desktop_activity",
        instance_id="desk",
        instance_label="D",
        host="h",
        raw_summary=msgspec.json.encode(summary),
    )


def folder_line(seq: int, start: float, end: float, paths: list[str]) -> bytes:
    data: dict[str, Any] = {
        "activity_signal": {"mode": "active", "keep_alive": True, "reason": "files"},
        "window": {"start": t(start), "end": t(end)},
        "client_id": "acme",
        "path_samples": [{"kind": "modified", "path": p, "at": t(end).isoformat()} for p in paths],
    }
    summary = {
        "type": "summary",
        "timestamp": t(end),
        "agent_id": "fold",
        "agent_label": "F",
        "agent_version": "1.0.0",
        "data": data,
    }
    return wrap_summary(
        seq=seq,
        record_id=f"f{seq}",
        received_at=t(end),
        plugin_id="client_folder_activity",
        instance_id="fold",
        instance_label="F",
        host="h",
        raw_summary=msgspec.json.encode(summary),
    )


def write_day(root: DataRoot) -> None:
    lines = [
        desktop_line(1, 0, 30, "Blender", "house.blend"),
        desktop_line(2, 30, 60, "Firefox", "Invoice 42 - Mail"),
        folder_line(3, 100, 130, ["site/plan.dwg"]),
        ledger_line("fg", t(200), t(240), client="globex", seq=4),
        ledger_line("screen", t(10), t(11), mode="passive", keep_alive=None, seq=5),
    ]
    path = root.evidence_file(DAY.date())
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, b"".join(lines))


def make_root(tmp: str) -> DataRoot:
    root = DataRoot.resolve(tmp).ensure()
    write_day(root)
    return root


def test_no_review_equals_timeline_for(tmp_path: Path) -> None:
    root = make_root(str(tmp_path))
    policy = TimelinePolicy(cooldown_s=300)
    plain, _ = timeline_for(root, *WINDOW, policy, cache=None, now=NOW)
    tl = reviewed_timeline(root, *WINDOW, policy, inputs(), cache=None, now=NOW)
    fields = ("start", "end", "duration_s", "instances", "client_ids", "summary_count")
    assert [tuple(getattr(s, f) for f in fields) for s in tl.segments] == [
        tuple(getattr(s, f) for f in fields) for s in plain.segments
    ]
    assert tl.per_client == plain.per_client
    assert tl.segments[0].summary_seqs == [1, 2, 5]


def test_rules_on_application_title_and_path(tmp_path: Path) -> None:
    root = make_root(str(tmp_path))
    rules = [
        Rule(
            rule_id="mail",
            match=RuleMatch(title=r"invoice \d+"),
            assign=Assignment(client_id="admin"),
        ),
        Rule(
            rule_id="cad",
            match=RuleMatch(application="^blender$"),
            assign=Assignment(client_id="initech", project="house"),
        ),
        Rule(
            rule_id="plans",
            match=RuleMatch(path="site/*.dwg"),
            assign=Assignment(project="site", tags=("cad",)),
        ),
    ]
    tl = reviewed_timeline(
        root,
        *WINDOW,
        TimelinePolicy(cooldown_s=0),
        inputs(rules=rules),
        cache=None,
        facts_cache=FactsCache(),
        now=NOW,
    )
    got = [(s.client_id, s.project, s.tags, s.rule_ids) for s in tl.segments]
    assert got == [
        ("initech", "house", [], ["cad"]),
        ("admin", None, [], ["mail"]),
        ("acme", "site", ["cad"], ["plans"]),
        ("globex", None, [], []),
    ]
    catch = rule_catch(
        root, *WINDOW, TimelinePolicy(cooldown_s=0), rules, ZoneInfo("UTC"), cache=None, now=NOW
    )
    assert catch == {"mail": 1800.0, "cad": 1800.0, "plans": 1800.0, DEFAULT_CATCH: 2400.0}


def test_facts_of_a_desktop_summary_are_its_dominant_application() -> None:
    facts = parse_facts(desktop_line(7, 0, 1, "Blender", "house.blend") + b"\n")
    assert facts[7].application == "Blender" and facts[7].title == "house.blend"
    assert facts[7].executable == "blender"
    assert parse_facts(folder_line(8, 0, 1, ["a/b.txt"]) + b"\n")[8].paths == ("a/b.txt",)


def test_disk_cache_keeps_the_seq(tmp_path: Path) -> None:
    root = make_root(str(tmp_path / "root"))
    policy = TimelinePolicy(cooldown_s=300)
    first = reviewed_timeline(
        root, *WINDOW, policy, inputs(), cache=DayCache(disk=DiskCache(tmp_path / "c")), now=NOW
    )
    fresh = DayCache(disk=DiskCache(tmp_path / "c"))
    second = reviewed_timeline(root, *WINDOW, policy, inputs(), cache=fresh, now=NOW)
    assert fresh.disk_hits == 1 and second == first


def _digest(root: DataRoot) -> str:
    h = hashlib.sha256()
    for path in sorted(root.evidence_dir.rglob("*")):
        if path.is_file():
            h.update(path.read_bytes())
    return h.hexdigest()


KINDS = ("manual_entry", "assign_range", "exclude_range", "idle_keep", "idle_discard")


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(KINDS),
            st.integers(-20, 300),
            st.integers(1, 90),
            st.sampled_from((None, "acme", "x")),
        ),
        max_size=6,
    )
)
def test_adjustments_never_change_the_ledger_bytes(
    specs: list[tuple[str, int, int, str | None]],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = make_root(tmp)
        before = _digest(root)
        adjustments: list[Adjustment] = [
            adj(i, kind, a, a + n, client=c)  # type: ignore[arg-type]
            for i, (kind, a, n, c) in enumerate(specs, start=1)
        ]
        ri = inputs(adjustments=adjustments)
        reviewed_timeline(root, *WINDOW, TimelinePolicy(), ri, cache=None, now=NOW)
        reviewed_timeline(root, *WINDOW, TimelinePolicy(), ri, now=NOW)
        assert _digest(root) == before


def test_inputs_from_the_config_and_journals(tmp_path: Path) -> None:
    root = make_root(str(tmp_path))
    write_atomic(
        root.config_path,
        b'[settings]\ntimezone = "Europe/Berlin"\n\n[review]\ncurrency = "USD"\n\n'
        b'[[review.rules]]\nrule_id = "bad"\nmatch = { title = "(" }\n',
    )
    journal = adjustments_path(root)
    journal.parent.mkdir(mode=0o700, exist_ok=True)
    write_atomic(journal, msgspec.json.encode(adj(1, "exclude_range", 0, 10)) + b"\n")
    ri, warnings = review_inputs_from_config(root)
    assert ri.tz.key == "Europe/Berlin" and ri.settings.currency == "USD"
    assert ri.settings.rules == () and any("rules[0].match.title" in w for w in warnings)
    assert [a.id for a in ri.adjustments] == ["adj0001"]
    explicit, _ = review_inputs_from_config(root, timezone="Pacific/Auckland")
    assert explicit.tz.key == "Pacific/Auckland"
