"""The evidence view shows a local day of the configured zone: the records of the UTC
hours that make it up, times in the zone, and the hash chain of each day file it reads."""

from __future__ import annotations

from datetime import UTC, datetime

from mimolo.dataroot import DataRoot

from ._live import LiveControl
from .ledger_files import summary_line, write_ledger


def test_a_berlin_day_reads_two_utc_files_and_names_its_zone(
    control: LiveControl, data_root: DataRoot
) -> None:
    data_root.config_path.write_text('[settings]\ntimezone = "Europe/Berlin"\n')
    early = datetime(2026, 4, 6, 22, 30, tzinfo=UTC)  # 00:30 CEST on the 7th
    late = datetime(2026, 4, 7, 21, 30, tzinfo=UTC)  # 23:30 CEST on the 7th
    after = datetime(2026, 4, 7, 22, 30, tzinfo=UTC)  # 00:30 CEST on the 8th
    write_ledger(data_root, early, [summary_line(1, early, instance_id="early-one")])
    write_ledger(
        data_root,
        late,
        [
            summary_line(2, late, instance_id="late-one"),
            summary_line(3, after, instance_id="next-day-one"),
        ],
    )
    with control.client() as client:
        html = client.get("/evidence?date=2026-04-07").text
    assert "Date (Europe/Berlin)" in html
    assert "early-one" in html and "late-one" in html and "next-day-one" not in html
    assert "2026-04-07 00:30:00 CEST" in html  # the early record, in local time
    assert html.count('class="panel chain-status"') == 2
    assert "Hash chain of 2026-04-06" in html and "Hash chain of 2026-04-07" in html
