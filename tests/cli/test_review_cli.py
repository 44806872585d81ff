"""``mimolo rules``, ``mimolo adjust`` and ``mimolo invoices`` through CliRunner: reads
from the files without Operations, mutations through a real ``mimolo ops``."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner, Result

from control._live import OpsProcess, short_data_root
from mimolo.cli import cli
from mimolo.dataroot import DataRoot
from mimolo.timeline.demo import DemoSpec, write_demo
from mimolo.timeline.review_io import read_adjustments, read_invoices

LAST_DAY = datetime.now(UTC).date() - timedelta(days=20)
FIRST_DAY = LAST_DAY - timedelta(days=2)
CONFIG = """\
[settings]
timezone = "America/Los_Angeles"

[review]
default_rate = "50"
currency = "USD"

[review.clients.acme]
rate = "100"
"""


def run(root: DataRoot, *args: str) -> Result:
    return CliRunner().invoke(cli, [*args, "--data-dir", str(root.root)], catch_exceptions=False)


def ok_json(root: DataRoot, *args: str) -> Any:
    result = run(root, *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def setup_root(root: DataRoot) -> None:
    write_demo(root, DemoSpec(days=3, seed=5, end=LAST_DAY))
    root.config_path.write_text(CONFIG, encoding="utf-8")
    os.chmod(root.config_path, 0o600)


@pytest.fixture(scope="module")
def ops() -> Iterator[OpsProcess]:
    with short_data_root() as root:
        setup_root(root)
        process = OpsProcess(root)
        try:
            yield process.start()
        finally:
            process.stop()


@pytest.fixture
def offline() -> Iterator[DataRoot]:
    with short_data_root() as root:
        setup_root(root)
        yield root


def test_reads_work_without_operations(offline: DataRoot) -> None:
    assert ok_json(offline, "rules", "list")["rules"] == []
    assert ok_json(offline, "adjust", "list")["adjustments"] == []
    assert ok_json(offline, "invoices", "list") == []
    caught = ok_json(offline, "rules", "test", "--match-client", "globex",
                     "--from", FIRST_DAY.isoformat(), "--to", LAST_DAY.isoformat())  # fmt: skip
    assert caught["timezone"] == "America/Los_Angeles"
    assert caught["caught_s"]["candidate"] > 0


def test_mutations_need_operations(offline: DataRoot) -> None:
    result = run(offline, "adjust", "add", "exclude", "--from", "2026-03-02T10:00",
                 "--to", "2026-03-02T11:00", "--reason", "x")  # fmt: skip
    assert result.exit_code == 2
    assert "Operations is not running" in result.stderr
    assert not (offline.operations_dir / "review").exists()


@pytest.mark.slow
def test_rules_add_move_remove_test(ops: OpsProcess) -> None:
    root = ops.root
    view = ok_json(root, "rules", "add", "globex", "--match-client", "globex",
                   "--client", "globex", "--project", "portal", "--tag", "dev")  # fmt: skip
    assert [r["rule_id"] for r in view["rules"]] == ["globex"]
    assert view["rules"][0]["assign"] == {"client_id": "globex", "project": "portal",
                                          "tags": ["dev"]}  # fmt: skip
    ok_json(root, "rules", "add", "mail", "--application", "mutt", "--label", "Mail")
    ok_json(root, "rules", "add", "first", "--instance", "folders-*", "--client", "acme",
            "--position", "1")  # fmt: skip
    moved = ok_json(root, "rules", "move", "first", "3")
    assert [r["rule_id"] for r in moved["rules"]] == ["globex", "mail", "first"]
    bad = run(root, "rules", "add", "broken", "--title", "(x")
    assert bad.exit_code == 1
    assert "rules_invalid" in bad.stderr and "review.rules[3].match.title" in bad.stderr
    assert [r["rule_id"] for r in ok_json(root, "rules", "list")["rules"]] == [
        "globex", "mail", "first"
    ]  # fmt: skip
    caught = ok_json(root, "rules", "test", "--from", FIRST_DAY.isoformat(),
                     "--to", LAST_DAY.isoformat())  # fmt: skip
    assert caught["caught_s"]["globex"] > 0 and caught["caught_s"]["mail"] == 0
    removed = ok_json(root, "rules", "remove", "mail")
    assert [r["rule_id"] for r in removed["rules"]] == ["globex", "first"]
    missing = run(root, "rules", "remove", "nope")
    assert missing.exit_code == 2 and "no rule 'nope'" in missing.output
    table = run(root, "rules", "list")
    assert table.exit_code == 0 and "globex/portal [dev]" in table.stdout


@pytest.mark.slow
def test_adjust_and_invoices(ops: OpsProcess) -> None:
    root = ops.root
    day = FIRST_DAY.isoformat()
    meeting = ok_json(root, "adjust", "add", "manual", "--from", f"{day}T09:00", "--to",
                      f"{day}T10:00", "--client", "acme", "--reason", "kick-off")  # fmt: skip
    # local times are read in the configured zone (Los Angeles)
    assert meeting["start"].endswith("T17:00:00Z") or meeting["start"].endswith("T16:00:00Z")
    split = ok_json(root, "adjust", "add", "idle-split", "--from", f"{day}T12:00",
                    "--to", f"{day}T13:00", "--split-at", f"{day}T12:20",
                    "--reason", "reading the spec")  # fmt: skip
    assert split["kind"] == "idle_split" and split["split_at"]
    refused = run(root, "adjust", "add", "exclude", "--from", f"{day}T15:00",
                  "--to", f"{day}T14:00", "--reason", "backwards")  # fmt: skip
    assert refused.exit_code == 1 and "adjustment_invalid" in refused.stderr
    revoked = ok_json(root, "adjust", "revoke", split["id"][:8], "--reason", "no")
    assert revoked["revokes"] == split["id"]
    listed = ok_json(root, "adjust", "list")["adjustments"]
    assert [a["id"] for a in listed] == [meeting["id"]]
    every = ok_json(root, "adjust", "list", "--all")["adjustments"]
    assert len(every) == 3 and every[1]["revoked_by"] == revoked["id"]
    table = run(root, "adjust", "list", "--all")
    assert table.exit_code == 0 and "kick-off" in table.stdout

    issued = ok_json(root, "invoices", "issue", "acme", "--from", FIRST_DAY.isoformat(),
                     "--to", LAST_DAY.isoformat())  # fmt: skip
    assert issued["figures"]["rate"] == "100" and issued["figures"]["currency"] == "USD"
    assert issued["timezone"] == "America/Los_Angeles"
    assert 0 < issued["figures"]["manual_added_s"] <= 3600.0
    locked = run(root, "adjust", "add", "exclude", "--from", f"{day}T15:00",
                 "--to", f"{day}T16:00", "--reason", "errand")  # fmt: skip
    assert locked.exit_code == 1
    assert "period_locked" in locked.stderr and issued["number"] in locked.stderr
    listed_invoices = ok_json(root, "invoices", "list")
    assert [i["number"] for i in listed_invoices] == [issued["number"]]
    voided = ok_json(root, "invoices", "void", issued["number"], "--reason", "wrong rate")
    assert voided["voids"] == issued["id"]
    again = ok_json(root, "invoices", "issue", "acme", "--from", FIRST_DAY.isoformat(),
                    "--to", LAST_DAY.isoformat(), "--rate", "110")  # fmt: skip
    assert again["number"] != issued["number"] and again["figures"]["rate"] == "110"
    table = run(root, "invoices", "list")
    assert table.exit_code == 0 and "voided" in table.stdout and "locked" in table.stdout
    assert [e.kind for e in read_invoices(root)] == ["issued", "voided", "issued"]
    assert len(read_adjustments(root)) == 3
