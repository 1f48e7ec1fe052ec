"""Rendering the report: Jinja2 templates shipped as package data, autoescaped, one self-contained page.

The page loads nothing: its style sheet is inline, its figures are ``data:`` URIs, it has no script, and a
Content-Security-Policy meta tag (``default-src 'none'``) tells the browser to refuse any request a
future edit might add.
"""

from __future__ import annotations

from typing import Any

import jinja2

#: The page's Content-Security-Policy: nothing may be fetched; images only from data: URIs, style inline.
CONTENT_SECURITY_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'"

#: Section ids and headings, in page order (the strategies' section only when there are several).
SECTIONS = {
    "disease": "The disease in brief",
    "patient": "One patient's story",
    "cohort": "The cohort's course",
    "strategies": "The strategies compared",
    "parameters": "Every parameter",
    "provenance": "Provenance",
}


def environment() -> jinja2.Environment:
    """The templates of :mod:`analysis.report` (package data), HTML-escaped, failing on undefined names."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("analysis.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(context: dict[str, Any]) -> str:
    """The report page from its context (:func:`analysis.report.build.report_context`)."""
    sections = {k: v for k, v in SECTIONS.items() if k != "strategies" or context.get("economics")}
    return (
        environment()
        .get_template("report.html.j2")
        .render(csp=CONTENT_SECURITY_POLICY, sections=sections, **context)
    )
