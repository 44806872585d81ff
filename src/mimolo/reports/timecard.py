"""The timecard reporter: segments per local day with totals and the derivation of the
billable time, as Markdown, HTML or PDF.

Run as ``python -m mimolo.reports.timecard`` (speaks the reporter protocol on stdio).
"""

from __future__ import annotations

from mimolo.reports.documents import base_context, html_to_pdf, user_templates
from mimolo.reports.params import ReportParams
from mimolo.reports.protocol import GenerateRequest
from mimolo.reports.reporter import Progress, run
from mimolo.reports.templates import render


def build(request: GenerateRequest, params: ReportParams, progress: Progress) -> bytes:
    """The timecard document in ``params.format``."""
    context = base_context(request, params, "Timecard")
    progress(20, f"{len(request.segments)} segments in {len(context['days'])} days")
    templates = user_templates(params)
    if params.format == "md":
        return render(templates, "timecard.md.j2", context).encode()
    html = render(templates, "timecard.html.j2", context)
    if params.format == "html":
        return html.encode()
    progress(50, "rendering PDF")
    return html_to_pdf(html)


if __name__ == "__main__":
    run(build)
