"""The ActivityWatch comparison's pure parts and its process handling, without aw-server.

The real aw-server is only started by ``benchmarks/run``; here a stand-in script plays the
server's process (answering ``/api/0/info``) so starting, waiting and stopping are tested.
"""

from __future__ import annotations

import itertools
import os
import socket
import stat
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo root: `benchmarks`

from benchmarks._aw import (
    AwEvent,
    AwUnavailable,
    aw_environment,
    ensure_aw_venv,
    free_port,
    requirements_stamp,
    running_aw_server,
    stop_process,
)
from benchmarks._peer_data import (
    INGEST_CLIENTS,
    UNASSIGNED,
    ActivityRecord,
    aw_events,
    clients_of,
    faster,
    max_relative_difference,
    per_client_from_aw,
    per_client_query,
    records_from_summaries,
    speedup,
    synthetic_records,
)

from mimolo.timeline import TimelineSummary

START = datetime(2026, 3, 2, 9, tzinfo=UTC).timestamp()


# the shared activity


def test_synthetic_records_are_deterministic_back_to_back_minutes() -> None:
    records = synthetic_records(500, start=START)
    assert records == synthetic_records(500, start=START)
    assert len(records) == 500
    assert records[0].start == START
    for before, after in itertools.pairwise(records):
        assert after.start == before.end
        assert after.end - after.start == 60.0
    assert {r.client for r in records} <= set(INGEST_CLIENTS)
    assert all(r.instance == f"folders-{r.client}" for r in records)
    assert synthetic_records(0, start=START) == []


def summary(
    instance: str,
    start: float,
    *,
    mode: str = "active",
    keep_alive: bool | None = True,
    client: str | None = None,
    length: float = 60.0,
) -> TimelineSummary:
    return TimelineSummary(instance, "plugin", start, start + length, mode, keep_alive, client)


def test_only_active_keep_alive_summaries_become_records() -> None:
    summaries = [
        summary("folders-acme", START + 120, client="acme"),
        summary("folders-acme", START, client="acme"),
        summary("screen", START, mode="passive", keep_alive=None),
        summary("folders-acme", START + 60, keep_alive=False, client="acme"),
        summary("folders-acme", START + 180, keep_alive=None, client="acme"),
        summary("folders-x", START + 240),  # no client: from the policy map, else unassigned
        summary("folders-y", START + 300),
        summary("folders-acme", START + 400, client="acme", length=-5),  # end before start
    ]
    records = records_from_summaries(summaries, {"folders-x": "globex"})
    assert records == [
        ActivityRecord(START, START + 60, "acme", "folders-acme"),
        ActivityRecord(START + 120, START + 180, "acme", "folders-acme"),
        ActivityRecord(START + 240, START + 300, "globex", "folders-x"),
        ActivityRecord(START + 300, START + 360, UNASSIGNED, "folders-y"),
    ]
    assert clients_of(records) == ["acme", "globex", UNASSIGNED]


def test_one_aw_event_per_record_lasting_its_window() -> None:
    records = [ActivityRecord(START, START + 90.5, "acme", "folders-acme")]
    (event,) = aw_events(records)
    assert event.duration == 90.5
    assert datetime.fromisoformat(event.timestamp).timestamp() == START
    assert event.data == {"client": "acme", "instance": "folders-acme"}
    as_json = msgspec.json.decode(msgspec.json.encode([event]))
    assert as_json == [
        {
            "timestamp": "2026-03-02T09:00:00.000000+00:00",
            "duration": 90.5,
            "data": {"client": "acme", "instance": "folders-acme"},
        }
    ]


def test_the_query_floods_each_client_and_merges_by_client() -> None:
    program = per_client_query("activity", ["acme", "globex", "initech"], 600)
    assert program[0] == 'events = query_bucket("activity");'
    assert program[1] == 'c0 = flood(filter_keyvals(events, "client", ["acme"]), 600);'
    assert program[3] == 'c2 = flood(filter_keyvals(events, "client", ["initech"]), 600);'
    assert program[-1] == ('RETURN = merge_events_by_keys(concat(concat(c0, c1), c2), ["client"]);')
    assert per_client_query("b", ["solo"], 30.5)[-1] == (
        'RETURN = merge_events_by_keys(c0, ["client"]);'
    )


@pytest.mark.parametrize("clients", [[], ['acme"); RETURN = 1; ("'], ["back\\slash"]])
def test_the_query_refuses_what_it_cannot_quote(clients: list[str]) -> None:
    with pytest.raises(ValueError):
        per_client_query("b", clients, 600)


def test_per_client_totals_from_the_answer() -> None:
    answer = [
        {"timestamp": "x", "duration": 3600.0, "data": {"client": "acme"}},
        {"timestamp": "x", "duration": 60, "data": {"client": "globex"}},
        {"timestamp": "x", "duration": 30.0, "data": {"client": "acme"}},
        {"timestamp": "x", "duration": 5.0, "data": {}},
    ]
    assert per_client_from_aw(answer) == {"acme": 3630.0, "globex": 60.0, UNASSIGNED: 5.0}
    assert per_client_from_aw([]) == {}


def test_differences_and_ratios() -> None:
    assert max_relative_difference({"a": 100.0}, {"a": 100.0}) == 0.0
    assert max_relative_difference({"a": 100.0, "b": 50.0}, {"a": 90.0}) == 1.0
    assert max_relative_difference({"a": 100.0}, {"a": 80.0}) == pytest.approx(0.2)
    assert max_relative_difference({}, {"a": 0.0}) == 0.0
    assert speedup(mimolo_s=0.5, aw_s=2.0) == 4.0
    assert speedup(mimolo_s=0.0, aw_s=2.0) == float("inf")
    assert faster(4.0) == "pass"
    assert faster(1.0) == "fail"
    assert faster(0.3) == "fail"


# the peer's environment and process


def test_the_peer_writes_only_inside_its_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", "/somewhere/ours")
    env = aw_environment(tmp_path)
    for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
        path = Path(env[name])
        assert path.parent == tmp_path
        assert path.is_dir()
        assert stat.S_IMODE(path.stat().st_mode) == 0o700
    assert "PYTHONPATH" not in env


def test_requirements_pin_the_known_working_set() -> None:
    from benchmarks._aw import AW_REQUIREMENTS

    assert "aw-server==0.12.0" in AW_REQUIREMENTS
    assert "peewee<4" in AW_REQUIREMENTS
    assert requirements_stamp(AW_REQUIREMENTS) == requirements_stamp()
    assert requirements_stamp(("aw-server==0.11.0",)) != requirements_stamp()


def test_an_installed_venv_is_reused_without_pip(tmp_path: Path) -> None:
    venv = tmp_path / "aw-venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "aw-server").write_text("#!/bin/sh\n")
    (venv / ".mimolo-aw-installed").write_text(requirements_stamp() + "\n")
    assert ensure_aw_venv(venv) == venv / "bin" / "aw-server"


def test_a_free_port_can_be_bound_on_loopback() -> None:
    port = free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", port))


def fake_server(tmp_path: Path, body: str) -> Path:
    """An executable standing in for ``aw-server`` (same argv), run by our Python."""
    path = tmp_path / "fake-aw-server"
    path.write_text(f"#!{sys.executable}\n" + textwrap.dedent(body))
    path.chmod(0o700)
    return path


ANSWERING = """
import http.server, json, sys
port = int(sys.argv[sys.argv.index("--port") + 1])
assert sys.argv[sys.argv.index("--host") + 1] == "127.0.0.1" and "--testing" in sys.argv

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"testing": True}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

http.server.HTTPServer(("127.0.0.1", port), Handler).serve_forever()
"""


def test_the_server_is_waited_for_and_stopped_when_the_block_ends(tmp_path: Path) -> None:
    executable = fake_server(tmp_path, ANSWERING)
    with running_aw_server(tmp_path, executable) as aw:
        assert aw.info() == {"testing": True}
        assert aw.base_url.startswith("http://127.0.0.1:")
        proc = aw.proc
        assert proc.poll() is None
    assert proc.poll() is not None  # stopped, and reaped


def test_a_server_that_dies_at_start_is_reported_with_its_last_words(tmp_path: Path) -> None:
    executable = fake_server(tmp_path, "import sys\nprint('no sqlite for you')\nsys.exit(3)\n")
    with (
        pytest.raises(AwUnavailable, match="exited with 3: no sqlite for you"),
        running_aw_server(tmp_path, executable),
    ):
        pass


def test_stop_escalates_when_the_server_ignores_sigint(tmp_path: Path) -> None:
    script = "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\ntime.sleep(600)\n"
    proc = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    try:
        time.sleep(0.2)
        stop_process(proc, grace_s=1.0)
        assert proc.returncode is not None
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
            proc.wait()


def test_aw_event_is_what_the_rest_api_takes() -> None:
    event = AwEvent("2026-01-01T00:00:00+00:00", 1.5, {"client": "acme"})
    assert msgspec.json.decode(msgspec.json.encode(event)) == {
        "timestamp": "2026-01-01T00:00:00+00:00",
        "duration": 1.5,
        "data": {"client": "acme"},
    }
