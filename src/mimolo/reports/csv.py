"""The CSV reporter: one row per segment and UTC day (a segment over midnight gives two).

Run as ``python -m mimolo.reports.csv``. Columns: date, start, end, duration_h, client,
instances (ISO-8601 UTC times; several clients or instances are joined with ``;``).
"""

from __future__ import annotations

import csv
import io

from mimolo.reports.params import ReportParams
from mimolo.reports.protocol import GenerateRequest
from mimolo.reports.reporter import Progress, run
from mimolo.reports.rows import rows_by_day

COLUMNS = ("date", "start", "end", "duration_h", "client", "instances")


def build(request: GenerateRequest, params: ReportParams, progress: Progress) -> bytes:
    """CSV bytes (UTF-8, ``\\r\\n`` rows as RFC 4180 says)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(COLUMNS)
    for day in rows_by_day(request.segments):
        for row in day.rows:
            writer.writerow(
                (
                    row.day.isoformat(),
                    row.start.isoformat().replace("+00:00", "Z"),
                    row.end.isoformat().replace("+00:00", "Z"),
                    f"{row.duration_s / 3600:.6f}",
                    ";".join(row.clients),
                    ";".join(row.instances),
                )
            )
    progress(80, "rows written")
    return buf.getvalue().encode()


if __name__ == "__main__":
    run(build)
