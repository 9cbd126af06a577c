"""Render PDF pages to PNG images (pypdfium2, a development dependency)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["pdf_text", "render_png"]


def _pdfium() -> object:
    from ..utils import soft_import

    return soft_import("pypdfium2", "read PDF pages (part of the 'dev' extra)")


def render_png(
    pdf_path: str | Path, out_dir: str | Path, *, scale: float = 1.5
) -> list[Path]:
    """Render every page of a PDF to a PNG file.

    Parameters
    ----------
    pdf_path : str | pathlib.Path
        The PDF.
    out_dir : str | pathlib.Path
        Folder for the images (created if needed).
    scale : float
        Pixels per PDF point (1 = 72 dpi), > 0.

    Returns
    -------
    paths : list of pathlib.Path
        ``<stem>-p<N>.png``, one per page, in order.

    Raises
    ------
    ImportError
        If pypdfium2 is not installed.
    ValueError
        If ``scale`` is not positive.
    """
    from ..utils import check_range

    check_range(scale, "scale", 0.0, None, low_inclusive=False)
    pdfium = _pdfium()
    src = Path(pdf_path)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    doc = pdfium.PdfDocument(str(src))  # type: ignore[attr-defined]
    paths: list[Path] = []
    try:
        for k in range(len(doc)):
            page = doc[k]
            path = out / f"{src.stem}-p{k + 1}.png"
            page.render(scale=scale).to_pil().save(path)
            paths.append(path)
    finally:
        doc.close()
    return paths


def pdf_text(pdf_path: str | Path) -> list[str]:
    """Extract the text of every page of a PDF.

    Parameters
    ----------
    pdf_path : str | pathlib.Path
        The PDF.

    Returns
    -------
    pages : list of str
        The text of each page, in order.

    Raises
    ------
    ImportError
        If pypdfium2 is not installed.
    """
    pdfium = _pdfium()
    doc = pdfium.PdfDocument(str(pdf_path))  # type: ignore[attr-defined]
    try:
        return [doc[k].get_textpage().get_text_range() for k in range(len(doc))]
    finally:
        doc.close()
