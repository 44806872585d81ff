"""desktop_activity's pure aggregation: observations, privacy at capture, top-N."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mimolo.agents.desktop_activity.aggregate import (
    MAX_APPS,
    MAX_TITLES,
    NO_DISPLAY,
    PAUSED,
    Observation,
    Privacy,
    WindowTotals,
    is_transition,
    observe,
    summary_fields,
)
from mimolo.agents.desktop_activity.backends import Sample

PLAIN = Privacy()


def test_paused_wins_and_asks_nothing_of_the_sample() -> None:
    sample = Sample("Editor", "ed", "secret", 0.0)
    assert observe(sample, paused=True, idle_threshold_s=5, privacy=PLAIN) is PAUSED
    assert observe(None, paused=False, idle_threshold_s=5, privacy=PLAIN) is NO_DISPLAY


@pytest.mark.parametrize(
    ("idle_s", "state"), [(0.0, "active"), (4.99, "active"), (5.0, "idle"), (None, "active")]
)
def test_idle_threshold(idle_s: float | None, state: str) -> None:
    obs = observe(Sample("E", None, "t", idle_s), paused=False, idle_threshold_s=5, privacy=PLAIN)
    assert obs.state == state
    if state == "idle":
        assert obs.application is None and obs.title is None


@pytest.mark.parametrize(
    ("application", "title", "excluded"),
    [
        ("KeePassXC", "db", True),
        ("Browser", "Online banking", True),
        ("Browser", "news", False),
        (None, "private BANK", True),
        ("Editor", None, False),
    ],
)
def test_exclude_rules_match_application_or_title(
    application: str | None, title: str | None, excluded: bool
) -> None:
    privacy = Privacy.compile(["^KeePass", "(?i)bank"], record_titles=True, title_max_length=50)
    obs = observe(
        Sample(application, "x", title, 0.0), paused=False, idle_threshold_s=9, privacy=privacy
    )
    assert obs.excluded is excluded
    if excluded:
        assert (obs.application, obs.executable, obs.title) == (None, None, None)


def test_the_full_title_is_matched_before_it_is_cut() -> None:
    privacy = Privacy.compile(["secret$"], record_titles=True, title_max_length=8)
    sample = Sample("E", None, "a long title that ends in secret", 0.0)
    assert observe(sample, paused=False, idle_threshold_s=9, privacy=privacy).excluded


def test_record_titles_false_drops_titles_from_the_summary() -> None:
    privacy = Privacy(record_titles=False)
    totals = WindowTotals()
    obs = observe(Sample("E", "e", "t", 0.0), paused=False, idle_threshold_s=9, privacy=privacy)
    assert obs.title is None
    totals.add(obs, 3.0)
    fields = summary_fields(totals, obs, top_n=5, record_titles=False, backend="x11")
    assert fields["applications"] == [{"application": "E", "executable": "e", "seconds": 3.0}]


def test_memory_is_bounded_per_window() -> None:
    totals = WindowTotals()
    for i in range(MAX_APPS + 50):
        totals.add(Observation("active", f"app{i}", None, f"t{i}"), 1.0)
    for i in range(MAX_TITLES + 50):
        totals.add(Observation("active", "app0", None, f"title {i}"), 1.0)
    assert len(totals.apps.apps) == MAX_APPS
    assert len(totals.apps.apps["app0"].titles) == MAX_TITLES
    assert totals.apps.total_s == pytest.approx(totals.active_s)


def test_transitions_are_state_changes_only() -> None:
    a = Observation("active", "A")
    assert not is_transition(a, Observation("active", "B"))
    assert is_transition(a, Observation("idle"))
    assert is_transition(Observation("idle"), PAUSED)


OBSERVATIONS = st.one_of(
    st.builds(
        Observation,
        st.just("active"),
        st.sampled_from(["A", "B", "C", "D", "E", "F"]),
        st.none(),
        st.sampled_from(["x", "y", "z", None]),
    ),
    st.just(Observation("active", excluded=True)),
    st.just(Observation("idle")),
    st.just(PAUSED),
)


@given(
    spans=st.lists(st.tuples(OBSERVATIONS, st.floats(0, 100)), max_size=60),
    top_n=st.integers(1, 8),
)
def test_time_is_conserved_and_top_n_plus_other_is_all_app_time(
    spans: list[tuple[Observation, float]], top_n: int
) -> None:
    totals = WindowTotals()
    for obs, seconds in spans:
        totals.add(obs, seconds)
    fields: dict[str, Any] = summary_fields(
        totals,
        spans[-1][0] if spans else NO_DISPLAY,
        top_n=top_n,
        record_titles=True,
        backend="x11",
    )
    whole = sum(seconds for _, seconds in spans)
    counted = fields["active_s"] + fields["idle_s"] + fields["paused_s"] + fields["excluded_s"]
    assert counted == pytest.approx(whole, abs=0.01)
    listed = [row["seconds"] for row in fields["applications"]]
    assert len(listed) <= top_n
    assert listed == sorted(listed, reverse=True)
    assert sum(listed) + fields["other_s"] == pytest.approx(fields["active_s"], abs=0.01)
    for row in fields["applications"]:
        assert sum(t["seconds"] for t in row["titles"]) <= row["seconds"] + 0.01
