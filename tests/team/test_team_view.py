"""The team view's reading on a real PostgreSQL: three machines' real chained ledgers,
shipped by the real shipper, read back through the reader role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import psycopg
import pytest

from mimolo.control.evidence_reader import read_raw_evidence
from mimolo.control.evidence_source import ViewFilters
from mimolo.control.team_source import TeamSource, describe
from mimolo.errors import TeamStoreError
from mimolo.team.reader import TeamReader
from mimolo.team.schema import apply_migrations
from mimolo.timeline.demo import DEMO_CLIENTS

from ._hosts import SimHost
from ._team_view import day, local_union, make_team, reader_conninfo, ship, write_week
from .pg import PgCluster


@dataclass
class Team:
    admin: str
    reader: str
    hosts: list[SimHost]

    def host(self, name: str) -> SimHost:
        return next(h for h in self.hosts if h.name == name)


@pytest.fixture(scope="module")
def team(pg_cluster: PgCluster, tmp_path_factory: pytest.TempPathFactory) -> Team:
    admin = pg_cluster.conninfo(pg_cluster.create_database("view"))
    with psycopg.connect(admin) as conn:
        apply_migrations(conn)
    people = [("ws1", "ana"), ("ws2", "ana"), ("ws3", "ben")]
    hosts = make_team(tmp_path_factory.mktemp("team"), admin, people)
    return Team(admin, reader_conninfo(admin), hosts)


@pytest.fixture
def source(team: Team) -> Iterator[TeamSource]:
    src = TeamSource.connect(team.reader)
    try:
        yield src
    finally:
        src.close()


WINDOWS = [(0, 1), (2, 3), (0, 7), (1, 4)]


@pytest.mark.parametrize(("first", "last"), WINDOWS)
@pytest.mark.parametrize("group_by_client", [True, False])
def test_the_team_timeline_is_the_union_of_each_hosts_own_timeline(
    team: Team, source: TeamSource, first: int, last: int, group_by_client: bool
) -> None:
    start, end = day(first), day(last)
    got = source.load_timeline(start, end, group_by_client=group_by_client)
    want = local_union(team.hosts, start, end, group_by_client=group_by_client)
    assert got.warnings == []
    assert got.timeline.segments == want.segments
    assert got.timeline.per_client == want.per_client
    assert got.timeline.per_day == want.per_day
    assert len({s.instances[0].split("@")[1] for s in got.timeline.segments}) == 3


@pytest.mark.parametrize("client", DEMO_CLIENTS)
def test_a_client_filter_keeps_that_clients_work_on_every_host(
    team: Team, source: TeamSource, client: str
) -> None:
    start, end = day(0), day(5)
    got = source.load_timeline(start, end, filters=ViewFilters(client=client)).timeline
    want = local_union(team.hosts, start, end, client_id=client)
    assert got.segments == want.segments and got.segments
    assert set(got.per_client) == {client}


def test_host_and_person_filters_select_machines(team: Team, source: TeamSource) -> None:
    start, end = day(0), day(5)
    ws3 = team.host("ws3")
    only = source.load_timeline(start, end, filters=ViewFilters(host=ws3.host_id)).timeline
    assert only.segments == local_union([ws3], start, end).segments
    ana = source.load_timeline(start, end, filters=ViewFilters(person="ana")).timeline
    assert ana.segments == local_union(team.hosts[:2], start, end).segments
    nobody = source.load_timeline(start, end, filters=ViewFilters(person="zed")).timeline
    assert nobody.segments == [] and nobody.per_client == {}


def test_filter_choices_name_hosts_people_and_clients(team: Team, source: TeamSource) -> None:
    choices = source.choices()
    assert [(c.value, c.label) for c in choices.hosts] == [(h.host_id, h.name) for h in team.hosts]
    assert choices.people == ["ana", "ben"]
    assert source.reader.clients(day(-1), day(7)) == sorted(DEMO_CLIENTS)


def test_offered_clients_count_back_from_the_stores_newest_day(team: Team) -> None:
    """Years after the records (a paused team, an old store), their clients are offered."""
    later = TeamSource(TeamReader(team.reader), now=lambda: day(0) + timedelta(days=3 * 365))
    try:
        newest = later.newest_day()
        assert newest is not None and day(0).date() <= newest <= day(7).date()
        assert later.choices().clients == sorted(DEMO_CLIENTS)
    finally:
        later.close()


def test_evidence_shows_each_hosts_stored_lines_as_written(team: Team, source: TeamSource) -> None:
    start, end = day(2), day(3)
    page = source.read_evidence(start, end, limit=100_000)
    assert page.files == ["ws1", "ws2", "ws3"] and not page.warnings
    for host in team.hosts:
        local = read_raw_evidence(host.root, start, end, limit=100_000)
        mine = [r for r in page.records if r.host == host.name]
        assert [r.raw for r in mine] == [r.raw for r in local.records]
        assert [r.seq for r in mine] == [r.line_no for r in mine]
    active = source.read_evidence(
        start, end, active_only=True, filters=ViewFilters(host=team.host("ws2").host_id)
    )
    assert active.records and {r.host for r in active.records} == {"ws2"}
    assert all(r.active for r in active.records)
    capped = source.read_evidence(start, end, limit=10)
    assert len(capped.records) == 10 and capped.truncated
    after = source.read_evidence(start, end, limit=10, offset=10)  # the next page
    assert after.offset == 10 and after.truncated
    assert [r.raw for r in after.records] == [r.raw for r in page.records[10:20]]


def test_a_host_that_syncs_more_is_seen_on_the_next_read(
    team: Team, pg_cluster: PgCluster, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from ._hosts import make_host

    admin = pg_cluster.conninfo(pg_cluster.create_database("grow"))
    with psycopg.connect(admin) as conn:
        apply_migrations(conn)
    host = make_host(tmp_path_factory.mktemp("grow"), "lap", admin, person="cy")
    write_week(host, 9, days=2, end=day(1).date())
    ship(host)
    source = TeamSource.connect(reader_conninfo(admin))
    try:
        start, end = day(0), day(7)
        before = source.load_timeline(start, end).timeline
        assert before.segments == local_union([host], start, end).segments
        assert source.reader.cache.misses > 0
        again = source.load_timeline(start, end).timeline
        assert again == before and source.reader.cache.hits > 0
        write_week(host, 10, days=2, end=day(3).date())  # two more days, same machine
        ship(host)
        after = source.load_timeline(start, end).timeline
        assert after.segments == local_union([host], start, end).segments
        assert after.total_s > before.total_s
    finally:
        source.close()


def test_the_reader_role_cannot_write(team: Team) -> None:
    with psycopg.connect(team.reader) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(
                "INSERT INTO mimolo.chain_breaks (host_id, kind, detail) VALUES (%s, 'x', 'y')",
                (team.hosts[0].host_id,),
            )
        conn.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM mimolo.records")


def test_the_readers_session_is_read_only_even_for_an_admin(team: Team) -> None:
    reader = TeamReader(team.admin)  # a superuser's conninfo: the session still refuses
    try:
        assert reader.hosts()
        with pytest.raises(TeamStoreError):
            reader._rows("DELETE FROM mimolo.records")
        assert len(reader.hosts()) == 3  # reconnected after the refusal, nothing deleted
    finally:
        reader.close()


def test_an_unreachable_store_is_a_clear_error(tmp_path_factory: pytest.TempPathFactory) -> None:
    missing = tmp_path_factory.mktemp("nopg")
    reader = TeamReader(f"host={missing} dbname=x user=nobody connect_timeout=2")
    with pytest.raises(TeamStoreError) as err:
        reader.hosts()
    assert err.value.code == "team_unreachable"


def test_the_footer_never_shows_a_password() -> None:
    shown = describe("host=db.studio.lan dbname=mimolo user=ana password=s3cret sslmode=require")
    assert "s3cret" not in shown and "db.studio.lan" in shown and "sslmode=require" in shown
    assert "s3cret" not in describe("postgresql://ana:s3cret@db/mimolo")


def test_windows_are_whole_days_of_received_records(team: Team, source: TeamSource) -> None:
    # a window inside one morning: the same as each machine's own read of it
    start = day(1) + timedelta(hours=9, minutes=13)
    end = start + timedelta(hours=2, minutes=31)
    assert source.load_timeline(start, end).timeline == local_union(team.hosts, start, end)


def test_chain_breaks_the_collector_flagged_are_shown_per_host(
    pg_cluster: PgCluster, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from ._hosts import make_host

    admin = pg_cluster.conninfo(pg_cluster.create_database("chain"))
    with psycopg.connect(admin) as conn:
        apply_migrations(conn)
    base = tmp_path_factory.mktemp("chain")
    good, bad = make_host(base, "good", admin), make_host(base, "bad", admin, person="eve")
    for n, host in enumerate((good, bad), start=1):
        write_week(host, n, days=1, end=day(0).date())
    path = bad.root.evidence_file(day(0).date())
    lines = path.read_bytes().splitlines(keepends=True)
    edited = next(i for i, line in enumerate(lines) if b'"files_changed":' in line)
    lines[edited] = lines[edited].replace(b'"files_changed":', b'"files_changed":1', 1)
    path.write_bytes(b"".join(lines))
    ship(good)
    ship(bad)
    source = TeamSource.connect(reader_conninfo(admin))
    try:
        chains = {c.host: c for c in source.host_chains()}
        assert chains["good"].status == "verified" and chains["good"].breaks == []
        assert chains["bad"].status == "broken" and chains["bad"].person == "eve"
        assert any(f"seq {edited + 1}: " in b for b in chains["bad"].breaks)
        assert chains["bad"].records == len(lines)
        only = source.host_chains(ViewFilters(person="eve"))
        assert [c.host for c in only] == ["bad"]
    finally:
        source.close()
