"""The self-contained HTML report of a run (``antimag report``): one page that opens with no network.

``build_report(results, evaluation, story)`` assembles it from results that already exist
(:mod:`analysis.report.build`); what each section says is plain data (:mod:`analysis.report.content`), the
figures are embedded PNGs with alt text (:mod:`analysis.report.images`), and Jinja2 templates shipped with
the package render it (:mod:`analysis.report.page`).
"""

from .build import build_report, report_context
from .page import CONTENT_SECURITY_POLICY, SECTIONS

__all__ = ["CONTENT_SECURITY_POLICY", "SECTIONS", "build_report", "report_context"]
