"""The clinician and patient reports for the signed-in user (guarded).

The reports are those of ``plptms report`` (:mod:`plptms.report`), built from
the registry by :func:`plptms.workflow.collect_report_data`: the permission
``report.read`` at the patient's site, the site-scoped registry, then the same
rendering. Both carry the research-software statement.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict

from ..access import Permission, Principal, require
from ..registry import RegistryError

if TYPE_CHECKING:
    from ..registry import Registry

__all__ = ["REPORT_KINDS", "ReportFile", "ReportUnavailableError", "report_for"]

REPORT_KINDS: tuple[str, ...] = ("clinician", "patient")


class ReportUnavailableError(ValueError):
    """The report cannot be made yet (e.g. no PLP history recorded)."""


class ReportFile(BaseModel):
    """A rendered report.

    Attributes
    ----------
    filename : str
        ``<SITE>-<CODE>-<kind>.<format>``.
    media_type : str
        ``application/pdf`` or ``text/html``.
    content : bytes
        The document.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    filename: str
    media_type: str
    content: bytes


def report_for(
    reg: Registry,
    principal: Principal,
    site: str,
    code: str,
    *,
    kind: str,
    fmt: Literal["pdf", "html"] = "pdf",
) -> ReportFile:
    """Render a patient's clinician or patient report for the signed-in user.

    Parameters
    ----------
    reg : plptms.registry.Registry
        The registry.
    principal : plptms.access.Principal
        The signed-in user (``report.read`` at the patient's site).
    site, code : str
        The patient.
    kind : {'clinician', 'patient'}
        Which report.
    fmt : {'pdf', 'html'}
        The format.

    Returns
    -------
    report : ReportFile
        The document.

    Raises
    ------
    plptms.access.AccessDeniedError
        If the role may not read reports.
    PatientNotFoundError
        If there is no such patient at the user's sites.
    ValueError
        If ``kind`` or ``fmt`` is not allowed.
    ReportUnavailableError
        If the report cannot be made from the registry yet (the message says
        what is missing).
    """
    import tempfile
    from pathlib import Path

    from ..report import render_html, write_pdf
    from ._reports import collect_report_data
    from ._views import _patient_in_scope

    require(principal, Permission.REPORT_READ)
    if kind not in REPORT_KINDS:
        raise ValueError(
            f"Invalid value for 'kind': got {kind!r}; allowed values are "
            f"{', '.join(REPORT_KINDS)}."
        )
    if fmt not in ("pdf", "html"):
        raise ValueError(
            f"Invalid value for 'format': got {fmt!r}; allowed values are pdf, html."
        )
    scoped = reg.scoped(principal.sites)  # row-level security on PostgreSQL too
    _patient_in_scope(scoped, principal, site, code)
    try:
        data = collect_report_data(scoped, site, code)
    except RegistryError as exc:
        raise ReportUnavailableError(str(exc)) from None
    html = render_html(data, kind)  # type: ignore[arg-type]
    name = f"{site}-{code}-{kind}.{fmt}"
    if fmt == "html":
        return ReportFile(
            filename=name, media_type="text/html", content=html.encode("utf-8")
        )
    with tempfile.TemporaryDirectory() as tmp:
        path = write_pdf(html, Path(tmp) / name)
        content = path.read_bytes()
    return ReportFile(filename=name, media_type="application/pdf", content=content)
