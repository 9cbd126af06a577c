"""Clinician and patient reports of a registered patient, as HTML and PDF.

:func:`plptms.workflow.collect_report_data` gathers the patient, assessments,
screening, ranking, plan, evidence and delivered sessions into a
:class:`ReportData`; :func:`write_reports` renders them with
Jinja2 (HTML) and WeasyPrint (PDF), each page carrying the research-software
disclaimer. Importing this package loads neither Jinja2, WeasyPrint nor matplotlib.
"""

from ._data import (
    DISCLAIMER,
    DeliveryRow,
    EvidenceRow,
    ReportData,
    evidence_rows,
    history_rows,
)
from ._png import pdf_text, render_png
from ._render import ReportKind, render_html, write_pdf, write_reports
from ._trajectory import plot_trajectory

__all__ = [
    "DISCLAIMER",
    "DeliveryRow",
    "EvidenceRow",
    "ReportData",
    "ReportKind",
    "evidence_rows",
    "history_rows",
    "pdf_text",
    "plot_trajectory",
    "render_html",
    "render_png",
    "write_pdf",
    "write_reports",
]
