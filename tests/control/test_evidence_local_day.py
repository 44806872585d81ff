"""The evidence view shows a local day of the configured zone: the records of the UTC
hours that make it up, times in the zone, and the hash chain of each day file it reads."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape
from urllib.parse import parse_qsl

from mimolo.control.evidence_reader import DEFAULT_LIMIT
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


def test_a_truncated_day_pages_through_every_record_once(
    control: LiveControl, data_root: DataRoot
) -> None:
    """Records in file order, a page at a time: none lost or shown twice, even when the
    file order is not the time order."""
    first = datetime(2026, 5, 12, 6, 0, tzinfo=UTC)
    total = DEFAULT_LIMIT + 200
    lines = [
        summary_line(n, first + timedelta(seconds=30 * n), instance_id=f"i{n:04d}", length_s=20)
        for n in range(1, total + 1)
    ]
    lines.insert(3, summary_line(total + 1, first + timedelta(hours=12), instance_id="late"))
    write_ledger(data_root, first, lines)
    seen: list[str] = []
    with control.client() as client:
        html = client.get("/evidence?date=2026-05-12&active=1").text
        assert "more not shown" in html and "data-earlier" not in html
        seen += re.findall(r"<code>(i\d{4}|late)</code>", html)
        later = re.search(r'href="/evidence\?([^"]+)" data-later', html)
        assert later is not None
        query = dict(parse_qsl(unescape(later.group(1))))
        assert query == {"date": "2026-05-12", "active": "1", "skip": str(DEFAULT_LIMIT)}
        rest = client.get(f"/evidence?{unescape(later.group(1))}").text
        seen += re.findall(r"<code>(i\d{4}|late)</code>", rest)
        assert "data-later" not in rest and "data-earlier" in rest
        assert f"{DEFAULT_LIMIT + 1}\u2013{total + 1}" in rest  # which of the window's records
        assert "Raw records" in client.get("/evidence?date=2026-05-12&skip=oops").text
    assert sorted(seen) == sorted([f"i{n:04d}" for n in range(1, total + 1)] + ["late"])
