"""The CSV reporter: one row per segment and local day (a segment over midnight gives two).

Run as ``python -m mimolo.reports.csv``. Columns: date (the local day), start, end
(ISO-8601 UTC), duration_h, client, instances, project, tags, source (evidence, manual or
idle_kept) and adjustments (the ids of the adjustments that shaped the row); several
clients, instances, tags or adjustments are joined with ``;``.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from mimolo.reports.documents import review_of, zone_of
from mimolo.reports.params import ReportParams
from mimolo.reports.protocol import GenerateRequest
from mimolo.reports.reporter import Progress, run
from mimolo.reports.rows import rows_by_day

COLUMNS = (
    "date",
    "start",
    "end",
    "duration_h",
    "client",
    "instances",
    "project",
    "tags",
    "source",
    "adjustments",
)


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def build(request: GenerateRequest, params: ReportParams, progress: Progress) -> bytes:
    """CSV bytes (UTF-8, ``\\r\\n`` rows as RFC 4180 says)."""
    zone = zone_of(review_of(request, params).timezone)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(COLUMNS)
    for day in rows_by_day(request.segments, zone):
        for row in day.rows:
            writer.writerow(
                (
                    row.day.isoformat(),
                    _utc(row.start),
                    _utc(row.end),
                    f"{row.duration_s / 3600:.6f}",
                    ";".join(row.clients),
                    ";".join(row.instances),
                    row.project or "",
                    ";".join(row.tags),
                    row.source,
                    ";".join(row.adjustment_ids),
                )
            )
    progress(80, "rows written")
    return buf.getvalue().encode()


if __name__ == "__main__":
    run(build)
