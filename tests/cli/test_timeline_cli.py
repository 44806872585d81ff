"""``mimolo demo-data`` and ``mimolo timeline`` through click's runner on a temp data root."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from mimolo.cli import cli


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_demo_then_timeline_json(tmp_path: Path) -> None:
    code, out = run(
        "demo-data",
        "--days",
        "3",
        "--seed",
        "2",
        "--end",
        "2026-03-04",
        "--data-dir",
        str(tmp_path),
    )
    assert code == 0, out
    assert "summaries" in out
    code, out = run(
        "timeline",
        "--from",
        "2026-03-02",
        "--to",
        "2026-03-04",
        "--json",
        "--data-dir",
        str(tmp_path),
    )
    assert code == 0, out
    payload = json.loads(out.strip().splitlines()[-1])
    assert payload["from"] == "2026-03-02T00:00:00Z"
    assert payload["to"] == "2026-03-05T00:00:00Z"
    assert payload["segments"]
    total = sum(s["duration_s"] for s in payload["segments"])
    assert abs(total - payload["total_s"]) < 1e-6
    assert abs(sum(payload["per_client"].values()) - total) < 1e-6


def test_timeline_table_client_filter_and_cooldown(tmp_path: Path) -> None:
    run("demo-data", "--days", "2", "--end", "2026-03-03", "--data-dir", str(tmp_path))
    code, out = run(
        "timeline",
        "--from",
        "2026-03-02",
        "--to",
        "2026-03-03",
        "--client",
        "acme",
        "--data-dir",
        str(tmp_path),
    )
    assert code == 0, out
    assert "Per client" in out and "acme" in out
    assert "globex" not in out
    code, long = run(
        "timeline",
        "--from",
        "2026-03-02",
        "--to",
        "2026-03-03",
        "--json",
        "--cooldown",
        "3600",
        "--data-dir",
        str(tmp_path),
    )
    code2, short = run(
        "timeline",
        "--from",
        "2026-03-02",
        "--to",
        "2026-03-03",
        "--json",
        "--cooldown",
        "60",
        "--data-dir",
        str(tmp_path),
    )
    assert code == code2 == 0
    n_long = len(json.loads(long.strip().splitlines()[-1])["segments"])
    n_short = len(json.loads(short.strip().splitlines()[-1])["segments"])
    assert n_long < n_short


def test_warnings_are_printed(tmp_path: Path) -> None:
    run("demo-data", "--days", "1", "--end", "2026-03-02", "--data-dir", str(tmp_path))
    ledger = tmp_path / "operations" / "evidence" / "2026" / "20260302.evidence.jsonl"
    with ledger.open("ab") as fh:
        fh.write(b"not json\n")
    code, out = run(
        "timeline", "--from", "2026-03-02", "--to", "2026-03-02", "--data-dir", str(tmp_path)
    )
    assert code == 0
    assert "warning:" in out and "20260302.evidence.jsonl" in out


def test_bad_dates_and_empty_window(tmp_path: Path) -> None:
    code, out = run("timeline", "--from", "yesterday", "--data-dir", str(tmp_path))
    assert code == 2 and "not a date" in out
    code, out = run(
        "timeline", "--from", "2026-03-05", "--to", "2026-03-01", "--data-dir", str(tmp_path)
    )
    assert code == 2 and "after --from" in out
    code, out = run(
        "timeline", "--from", "2026-03-01", "--to", "2026-03-01", "--data-dir", str(tmp_path)
    )
    assert code == 0 and "No work segments" in out
    code, out = run("demo-data", "--end", "March", "--data-dir", str(tmp_path))
    assert code == 2


def test_warning_text_is_not_taken_as_markup(tmp_path: Path) -> None:
    run("demo-data", "--days", "1", "--end", "2026-03-02", "--data-dir", str(tmp_path))
    ledger = tmp_path / "operations" / "evidence" / "2026" / "20260302.evidence.jsonl"
    first = ledger.read_bytes().splitlines()[0]
    with ledger.open("ab") as fh:
        fh.write(first.replace(b'"type":"summary"', b'"type":"[/bold]"') + b"\n")
    code, out = run(
        "timeline", "--from", "2026-03-02", "--to", "2026-03-02", "--data-dir", str(tmp_path)
    )
    assert code == 0, out
    assert "not a summary: '[/bold]'" in out


def test_client_and_cooldown_come_from_the_config(tmp_path: Path) -> None:
    """An instance's configured client_id groups summaries that carry none."""
    import msgspec

    from mimolo.protocol.evidence import wrap_summary

    ledger = tmp_path / "operations" / "evidence" / "2026" / "20260302.evidence.jsonl"
    ledger.parent.mkdir(parents=True)
    lines = []
    for i, minute in enumerate((0, 1, 8)):  # gap of 7 min: joined only with cooldown >= 420
        summary = {
            "type": "summary",
            "timestamp": f"2026-03-02T09:{minute + 1:02d}:00Z",
            "agent_id": "cad",
            "agent_label": "CAD",
            "agent_version": "1.0.0",
            "data": {
                "activity_signal": {"mode": "active", "keep_alive": True},
                "window": {
                    "start": f"2026-03-02T09:{minute:02d}:00Z",
                    "end": f"2026-03-02T09:{minute + 1:02d}:00Z",
                },
            },
        }
        lines.append(
            wrap_summary(
                seq=i,
                record_id=str(i),
                received_at=datetime(2026, 3, 2, 9, minute + 1, 1, tzinfo=UTC),
                plugin_id="trail_tracker",
                instance_id="cad",
                instance_label="CAD",
                host="h",
                raw_summary=msgspec.json.encode(summary),
            )
        )
    ledger.write_bytes(b"".join(lines))
    config = tmp_path / "operations" / "agent_config.toml"
    config.write_text(
        '[settings]\ncooldown_s = 300\n\n[instances.cad]\ntemplate = "trail_tracker"\n'
        'label = "CAD"\nclient_id = "studio"\n'
    )
    args = [
        "timeline",
        "--from",
        "2026-03-02",
        "--to",
        "2026-03-02",
        "--json",
        "--data-dir",
        str(tmp_path),
    ]
    code, out = run(*args)
    assert code == 0, out
    payload = json.loads(out.strip().splitlines()[-1])
    assert payload["cooldown_s"] == 300
    assert [s["client_ids"] for s in payload["segments"]] == [["studio"], ["studio"]]
    code, out = run(*args, "--cooldown", "600")
    assert [s["duration_s"] for s in json.loads(out.strip().splitlines()[-1])["segments"]] == [
        540.0
    ]
