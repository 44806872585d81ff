"""The review through the day cache (runs of days keep their categorized pieces) gives
exactly the review without caches: work across UTC midnight, summaries written into the
next day's file, windows cut anywhere, rules, adjustments and locks, in memory and from
the on-disk copies a new process reads; changed files are read again; repeated views
reuse the kept pieces."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from mimolo.dataroot import DataRoot, write_atomic
from mimolo.protocol.review import Adjustment, AdjustmentKind, Assignment, Rule, RuleMatch
from mimolo.timeline import DayCache, TimelinePolicy
from mimolo.timeline.facts import FactsCache, parse_facts, read_with_facts
from mimolo.timeline.piece_store import PieceStore
from mimolo.timeline.reader import read_file
from mimolo.timeline.review import ReviewInputs, reviewed_timeline
from mimolo.timeline.runs import Bounds, split_runs

from ._ledger import ledger_line
from ._review import UTC_ZONE, adj, inputs
from .test_review_ledger import WINDOW as LEDGER_WINDOW
from .test_review_ledger import make_root

DAY0 = datetime(2026, 3, 1, tzinfo=UTC)
NOW = DAY0 + timedelta(days=10)
DAYS = 4
INSTANCES = ("fa", "fb", "screen")
RULES = (
    Rule(rule_id="fb-web", match=RuleMatch(instance_id="fb"), assign=Assignment(project="web")),
    Rule(
        rule_id="screen-acme",
        match=RuleMatch(instance_id="scr*"),
        assign=Assignment(client_id="acme"),
        enabled=False,
    ),
)


def at(minutes: float) -> datetime:
    return DAY0 + timedelta(minutes=minutes)


KINDS: tuple[AdjustmentKind, ...] = ("assign_range", "exclude_range", "idle_keep", "manual_entry")
Line = tuple[int, float, float, str, str, bool | None, str | None]
"""(file day, start and end minutes from DAY0, instance, mode, keep_alive, client)."""


@st.composite
def lines(draw: st.DrawFn) -> Line:
    day = draw(st.integers(0, DAYS - 1))
    start = day * 1440 + draw(st.sampled_from((-20.0, -5.0, 0.0, 3.0)) | st.floats(-30, 1470))
    length = draw(st.sampled_from((0.0, 1.0, 15.0)) | st.floats(0, 120))
    return (
        day,
        start,
        start + length,
        draw(st.sampled_from(INSTANCES)),
        draw(st.sampled_from(("active", "passive"))),
        draw(st.sampled_from((True, False, None))),
        draw(st.sampled_from((None, "acme", "globex"))),
    )


def write(root: DataRoot, items: list[Line]) -> None:
    by_day: dict[int, list[bytes]] = {}
    for seq, (day, a, b, inst, mode, keep, client) in enumerate(items, start=1):
        line = ledger_line(inst, at(a), at(b), mode=mode, keep_alive=keep, client=client, seq=seq)
        by_day.setdefault(day, []).append(line)
    for day, content in by_day.items():
        path = root.evidence_file((DAY0 + timedelta(days=day)).date())
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, b"".join(content))


def adjustments(draw: st.DrawFn) -> list[Adjustment]:
    out: list[Adjustment] = []
    for i in range(draw(st.integers(0, 5))):
        kind = draw(st.sampled_from(KINDS))
        a = draw(st.floats(-60, DAYS * 1440))
        b = a + draw(st.floats(1, 300))
        made = adj(i + 1, kind, client=draw(st.sampled_from((None, "acme", "globex"))))
        out.append(msgspec.structs.replace(made, start=at(a), end=at(b)))
    return out


@st.composite
def cases(draw: st.DrawFn) -> tuple[list[Line], tuple[float, float], float, ReviewInputs]:
    items = draw(st.lists(lines(), max_size=40))
    lo = draw(st.sampled_from((0.0, 60.0, 1440.0)) | st.floats(-60, DAYS * 1440))
    hi = lo + draw(st.sampled_from((1440.0, DAYS * 1440.0)) | st.floats(1, DAYS * 1440))
    cooldown = draw(st.sampled_from((0.0, 60.0, 600.0)))
    review = inputs(rules=RULES, adjustments=adjustments(draw)) if draw(st.booleans()) else inputs()
    return items, (lo, hi), cooldown, review


@settings(max_examples=120, deadline=None)
@given(cases())
def test_cached_review_equals_review_without_caches(
    case: tuple[list[Line], tuple[float, float], float, ReviewInputs],
) -> None:
    items, (lo, hi), cooldown, review = case
    policy = TimelinePolicy(cooldown_s=cooldown, client_of_instance={"fb": "globex"})
    with tempfile.TemporaryDirectory() as tmp:
        root = DataRoot.resolve(tmp).ensure()
        write(root, items)
        cache = DayCache()
        window = (at(lo), at(hi))
        fresh = reviewed_timeline(root, *window, policy, review, cache=None, now=NOW)
        first = reviewed_timeline(root, *window, policy, review, cache=cache, now=NOW)
        again = reviewed_timeline(root, *window, policy, review, cache=cache, now=NOW)
        assert first == fresh
        assert again == fresh
        wider = (at(-1440), at((DAYS + 1) * 1440))
        assert reviewed_timeline(
            root, *wider, policy, review, cache=cache, now=NOW
        ) == reviewed_timeline(root, *wider, policy, review, cache=None, now=NOW)
        # the kept pieces on disk: written by one process, read back by the next
        store = Path(tmp) / "store"
        writer = DayCache(pieces=PieceStore(store))
        assert reviewed_timeline(root, *window, policy, review, cache=writer, now=NOW) == fresh
        reader = DayCache(pieces=PieceStore(store))
        assert reviewed_timeline(root, *window, policy, review, cache=reader, now=NOW) == fresh


def test_repeated_views_reuse_kept_runs_and_changed_files_are_read_again(tmp_path: Path) -> None:
    root = DataRoot.resolve(str(tmp_path)).ensure()
    items: list[Line] = []
    for day in range(DAYS):
        base = day * 1440 + 9 * 60
        items += [(day, base + m, base + m + 1, "fa", "active", True, "acme") for m in range(30)]
        items.append((day, base, base + 30, "screen", "passive", None, None))
    write(root, items)
    policy = TimelinePolicy(cooldown_s=300)
    review = inputs(rules=RULES)
    cache = DayCache()
    window = (at(0), at(DAYS * 1440))
    first = reviewed_timeline(root, *window, policy, review, cache=cache, now=NOW)
    assert len(first.segments) == DAYS
    misses = cache.derived.misses
    reviewed_timeline(root, *window, policy, review, cache=cache, now=NOW)
    assert cache.derived.misses == misses  # every run (and its bounds) came from the cache
    # a closed day's file changes: that run is categorized again, the answer is fresh
    extra = ledger_line("fa", at(1440 + 12 * 60), at(1440 + 12 * 60 + 5), client="acme", seq=999)
    path = root.evidence_file((DAY0 + timedelta(days=1)).date())
    with path.open("ab") as fh:
        fh.write(extra)
    changed = reviewed_timeline(root, *window, policy, review, cache=cache, now=NOW)
    assert len(changed.segments) == DAYS + 1
    assert changed == reviewed_timeline(root, *window, policy, review, cache=None, now=NOW)
    # other rules are another key: nothing kept for the first rules is served for them
    other = inputs(rules=(Rule(rule_id="all", match=RuleMatch(instance_id="fa"),
                               assign=Assignment(client_id="globex")),))  # fmt: skip
    regrouped = reviewed_timeline(root, *window, policy, other, cache=cache, now=NOW)
    assert {s.client_id for s in regrouped.segments} == {"globex"}


def test_runs_split_only_where_nothing_reaches_across() -> None:
    inf = float("inf")
    empty = Bounds(inf, -inf, -inf)
    b = [Bounds(0, 10, 20), Bounds(15, 30, 30), Bounds(31, 40, 45), empty, Bounds(50, 60, 60)]
    assert split_runs(b) == [(0, 2), (2, 3), (3, 5)]  # an empty file joins the next run
    # a later file holding an earlier summary joins the runs it reaches back into
    assert split_runs([Bounds(0, 10, 10), Bounds(20, 30, 30), Bounds(5, 40, 40)]) == [(0, 3)]
    assert split_runs([empty, empty]) == []


def test_open_day_is_never_kept(tmp_path: Path) -> None:
    root = DataRoot.resolve(str(tmp_path)).ensure()
    write(root, [(0, 600, 610, "fa", "active", True, "acme")])
    cache = DayCache()
    now = DAY0 + timedelta(hours=12)  # day 0 is today: its file is still being written
    review = inputs()
    window = (at(0), at(1440))
    policy = TimelinePolicy()
    first = reviewed_timeline(root, *window, policy, review, cache=cache, now=now)
    assert len(cache.derived) == 0
    assert first == reviewed_timeline(root, *window, policy, review, cache=None, now=now)
    assert UTC_ZONE.key == "UTC"


def test_facts_read_in_the_same_pass_as_the_evidence(tmp_path: Path) -> None:
    root = make_root(str(tmp_path))
    path = root.evidence_file(LEDGER_WINDOW[0].date())
    summaries, warnings, facts = read_with_facts(path)
    assert (summaries, warnings) == read_file(path)
    assert facts == parse_facts(path.read_bytes()) and len(facts) == 3
    rules = (
        Rule(
            rule_id="mail",
            match=RuleMatch(title=r"invoice \d+"),
            assign=Assignment(client_id="admin"),
        ),
        Rule(
            rule_id="plans", match=RuleMatch(path="site/*.dwg"), assign=Assignment(client_id="acme")
        ),
    )
    review = inputs(rules=rules)
    policy = TimelinePolicy(cooldown_s=0)
    one_pass = reviewed_timeline(root, *LEDGER_WINDOW, policy, review, cache=None, now=NOW)
    cached = reviewed_timeline(
        root, *LEDGER_WINDOW, policy, review, cache=DayCache(), facts_cache=FactsCache(), now=NOW
    )
    assert one_pass == cached
    assert {s.client_id for s in one_pass.segments} >= {"admin", "acme"}
