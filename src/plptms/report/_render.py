"""Render the reports to HTML (Jinja2) and PDF (WeasyPrint), both loaded on use."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ..utils import check_option, check_type
from ._data import ReportData

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["ReportKind", "render_html", "write_pdf", "write_reports"]

logger = logging.getLogger(__name__)

ReportKind = Literal["clinician", "patient"]
_KINDS = ("clinician", "patient")
_FORMATS = ("html", "pdf")


def _soft_import(name: str, purpose: str) -> Any:
    from ..utils import soft_import

    return soft_import(name, purpose)


def _env() -> Any:
    jinja2 = _soft_import("jinja2", "render the reports")
    from ..planner import (
        consensus_text,
        effect_text,
        evidence_tier_text,
        mso_text,
        override_text,
        rmt_text,
        source_text,
        target_basis_text,
        weeks,
    )
    from ._data import history_rows
    from ._plain import long_date, plain_target, stimulation_minutes

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("plptms.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.globals.update(
        history_rows=history_rows,
        long_date=long_date,
        plain_target=plain_target,
        stimulation_minutes=stimulation_minutes,
        consensus_text=consensus_text,
        effect_text=effect_text,
        evidence_tier_text=evidence_tier_text,
        mso_text=mso_text,
        rmt_text=rmt_text,
        source_text=source_text,
        target_basis_text=target_basis_text,
        override_text=override_text,
        weeks=weeks,
    )
    env.filters["num"] = lambda x, fmt=".2f": "?" if x is None else format(x, fmt)
    return env


def render_html(
    data: ReportData,
    kind: ReportKind,
    *,
    figures: dict[str, bytes | None] | None = None,
) -> str:
    """Render one report as a self-contained HTML page.

    Parameters
    ----------
    data : ReportData
        What the report shows.
    kind : {"clinician", "patient"}
        Which report.
    figures : dict of str to bytes | None
        PNG figures ``"trajectory"`` and ``"forest"``; drawn when ``None``.

    Returns
    -------
    html : str
        The page: styles inline, figures embedded as base64 PNG.

    Raises
    ------
    TypeError
        If ``data`` is not a :class:`ReportData`.
    ValueError
        If ``kind`` is unknown.
    """
    check_type(data, ReportData, "data")
    check_option(kind, "kind", _KINDS)
    from ._figures import data_uri, forest_png, trajectory_png

    if figures is None:
        figures = {"trajectory": trajectory_png(data), "forest": forest_png(data)}
    images = {k: None if v is None else data_uri(v) for k, v in figures.items()}
    env = _env()
    css = env.loader.get_source(env, "report.css")[0]
    return str(
        env.get_template(f"{kind}.html.j2").render(
            d=data, r=data.result, ctx=data.context, images=images, css=css
        )
    )


def write_pdf(html: str, path: str | Path) -> Path:
    """Write an HTML page as PDF.

    Parameters
    ----------
    html : str
        A page from :func:`render_html`.
    path : str | pathlib.Path
        PDF file to write.

    Returns
    -------
    path : pathlib.Path
        The file written.
    """
    weasyprint = _soft_import("weasyprint", "write PDF reports")
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    weasyprint.HTML(string=html).write_pdf(out)
    return out


def write_reports(
    data: ReportData,
    out_dir: str | Path,
    *,
    kinds: Iterable[str] = _KINDS,
    formats: Iterable[str] = _FORMATS,
) -> list[Path]:
    """Write the clinician and/or patient report as HTML and/or PDF.

    Parameters
    ----------
    data : ReportData
        What the reports show.
    out_dir : str | pathlib.Path
        Folder (created if needed).
    kinds : iterable of {"clinician", "patient"}
        Reports to write.
    formats : iterable of {"html", "pdf"}
        Formats to write.

    Returns
    -------
    paths : list of pathlib.Path
        Files written, ``<SITE>-<CODE>-<kind>.<format>``.

    Raises
    ------
    ValueError
        If a kind or format is unknown, or none is given.
    """
    kinds_: list[ReportKind] = [check_option(k, "kind", _KINDS) for k in kinds]
    formats = [check_option(f, "format", _FORMATS) for f in formats]
    for name, values in (("kind", kinds_), ("format", formats)):
        if not values:
            raise ValueError(
                f"Invalid value for {name!r}: got nothing; allowed: at least one of "
                f"{_KINDS if name == 'kind' else _FORMATS}."
            )
    from ._figures import forest_png, trajectory_png

    figures: dict[str, bytes | None] = {"trajectory": None, "forest": None}
    if "clinician" in kinds_:
        figures = {"trajectory": trajectory_png(data), "forest": forest_png(data)}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = data.context.patient_id.replace("/", "-")
    paths: list[Path] = []
    for kind in kinds_:
        html = render_html(data, kind, figures=figures)
        if "html" in formats:
            p = out / f"{stem}-{kind}.html"
            p.write_text(html, encoding="utf-8")
            paths.append(p)
        if "pdf" in formats:
            paths.append(write_pdf(html, out / f"{stem}-{kind}.pdf"))
    logger.info("Wrote %d report file(s) to %s.", len(paths), out)
    return paths
