"""The reporter side of the protocol, in process: requests in, protocol lines out."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest

from mimolo.reports import csv as csv_reporter
from mimolo.reports.model import as_report_segment
from mimolo.reports.protocol import (
    ErrorLine,
    GenerateRequest,
    ProgressLine,
    ResultLine,
    decode_line,
    encode,
)
from mimolo.reports.reporter import serve
from mimolo.reports.rows import format_hm, rows_by_day
from mimolo.timeline import Segment


def segment(start: datetime, end: datetime) -> Segment:
    return Segment(
        start=start,
        end=end,
        duration_s=(end - start).total_seconds(),
        instances=["fa"],
        client_ids=["acme"],
        summary_count=3,
    )


def answer(stdin: bytes) -> tuple[int, list[object]]:
    out = io.BytesIO()
    status = serve(csv_reporter.build, stdin=io.BytesIO(stdin), stdout=out)
    return status, [decode_line(line) for line in out.getvalue().splitlines()]


@pytest.mark.parametrize(
    ("stdin", "text"),
    [
        (b"", "invalid generate request"),
        (b"not json\n", "invalid generate request"),
        (b'{"cmd":"explode"}\n', "invalid generate request"),
        (b'{"cmd":"generate","params":{"format":"csv"}}\n', "params"),
        (
            b'{"cmd":"generate","params":{"from":"x","to":"y","format":"csv","output_path":"/x"}}\n',
            "params",
        ),
    ],
)
def test_bad_request_answers_one_error_line(stdin: bytes, text: str) -> None:
    status, lines = answer(stdin)
    assert status == 2
    assert len(lines) == 1 and isinstance(lines[0], ErrorLine)
    assert text in lines[0].message


def test_good_request_progress_then_result(tmp_path: Path) -> None:
    seg = segment(datetime(2026, 3, 2, 23, 0, tzinfo=UTC), datetime(2026, 3, 3, 1, 0, tzinfo=UTC))
    request = GenerateRequest(
        params={
            "from": "2026-03-02T00:00:00Z",
            "to": "2026-03-04T00:00:00Z",
            "format": "csv",
            "output_path": str(tmp_path / "out.csv"),
        },
        segments=[as_report_segment(seg)],
    )
    status, lines = answer(encode(request))
    assert status == 0
    assert all(isinstance(line, ProgressLine) for line in lines[:-1])
    result = lines[-1]
    assert isinstance(result, ResultLine)
    rows = (tmp_path / "out.csv").read_text().splitlines()
    assert rows[1].startswith("2026-03-02,2026-03-02T23:00:00Z,2026-03-03T00:00:00Z,1.000000")
    assert rows[2].startswith("2026-03-03,2026-03-03T00:00:00Z,2026-03-03T01:00:00Z,1.000000")
    assert result.bytes == (tmp_path / "out.csv").stat().st_size


def test_line_types_round_trip() -> None:
    for line in (
        ProgressLine(percent=12.5, message="x"),
        ErrorLine(message="no"),
        ResultLine(path="/p", mime="text/csv", bytes=1, sha256="a" * 64),
    ):
        assert decode_line(encode(line)) == line
    with pytest.raises(msgspec.ValidationError):
        decode_line(b'{"type":"progress"}')


def test_rows_split_midnight_and_format() -> None:
    seg = segment(datetime(2026, 3, 2, 23, 30, tzinfo=UTC), datetime(2026, 3, 3, 0, 45, tzinfo=UTC))
    days = rows_by_day([seg])
    assert [(d.day.day, d.total_s) for d in days] == [(2, 1800.0), (3, 2700.0)]
    assert format_hm(3599) == "1:00" and format_hm(5 * 3600 + 7 * 60) == "5:07"
