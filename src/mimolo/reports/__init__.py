"""Reporters: the reporter protocol, the runner and the built-in reporters.

``run_report(data_root, kind, params, segments, on_progress)`` starts
``python -m mimolo.reports.<kind>`` (timecard, invoice, csv), feeds it the prepared
segments and returns a verified ``ReportResult``.
"""

from mimolo.reports.runner import (
    BUILTIN_REPORTERS,
    ReportResult,
    run_report,
    run_report_sync,
    run_reporter,
)

__all__ = ["BUILTIN_REPORTERS", "ReportResult", "run_report", "run_report_sync", "run_reporter"]
