"""Read and write the SimNIBS coil dipole text format (``.ccd``).

The format, as read by SimNIBS's ``TmsCoil.from_ccd`` :footcite:`saturnino2019`:

* line 1: ``# <description>[ version X.Y][;key=value]...``; known keys are
  ``dIdtmax`` (A/us at 100 % MSO), ``stimulator``, ``brand``, ``coilname``,
  ``dIdtstim``, ``x``/``y``/``z`` (bounding box, mm, ``lo,hi``) and ``resolution``
  (mm); SimNIBS parses a value containing ``.`` as a float, digits as an int, ``none``
  as missing;
* line 2: the number of dipoles;
* then ``#`` comment lines and one row per dipole: position x y z in m and moment
  x y z in A m^2 per A of coil current, whitespace-separated.

Coordinates are in the coil frame (``z`` into the head, see :mod:`._coils`).

.. footbibliography::
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..utils import check_range, check_type
from ._coils import Coil

if TYPE_CHECKING:
    import os

__all__ = ["read_ccd", "write_ccd"]

_FORBIDDEN = re.compile(r"[;=\n\r.]")


class CcdFormatError(ValueError):
    """A ``.ccd`` file does not follow the format."""


def _parse_header(line: str) -> tuple[str, dict[str, str]]:
    if not line.startswith("#"):
        raise CcdFormatError(
            f"Invalid value for 'header': got {line[:60]!r}; allowed: a first line "
            "starting with '#'."
        )
    parts = line.rstrip("\r\n").split(";")
    description = parts[0].lstrip("#").strip()
    meta: dict[str, str] = {}
    for pair in parts[1:]:
        pair = pair.strip()
        if not pair:
            continue
        if "=" not in pair:
            raise CcdFormatError(
                f"Invalid value for 'header': got the entry {pair!r}; allowed: "
                "'key=value' entries separated by ';'."
            )
        key, value = pair.split("=", 1)
        meta[key.strip()] = value.strip()
    return description, meta


def read_ccd(path: str | os.PathLike[str]) -> Coil:
    """Read a SimNIBS ``.ccd`` coil file.

    Parameters
    ----------
    path : str | path-like
        The file.

    Returns
    -------
    coil : Coil
        Dipoles in the coil frame; ``max_didt_a_per_us``, ``stimulator`` and
        ``brand`` from the header when present; ``name`` from ``coilname`` or the
        file name.

    Raises
    ------
    ValueError
        If the header, the count line or a dipole row is malformed, or the count does
        not match the rows (a :class:`CcdFormatError`).
    FileNotFoundError
        If the file does not exist.
    """
    p = Path(path)
    lines = p.read_text(encoding="utf-8", errors="replace").splitlines()
    if len(lines) < 3:
        raise CcdFormatError(
            f"Invalid value for 'path': {p.name!r} has {len(lines)} lines; allowed: "
            "a header line, a count line and dipole rows."
        )
    description, meta = _parse_header(lines[0])
    try:
        count = int(lines[1].strip())
    except ValueError:
        raise CcdFormatError(
            f"Invalid value for 'count': got {lines[1].strip()[:40]!r} on line 2 of "
            f"{p.name!r}; allowed: the number of dipoles (an integer)."
        ) from None
    rows: list[list[float]] = []
    for k, raw in enumerate(lines[2:], start=3):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        fields = text.split()
        if len(fields) != 6:
            raise CcdFormatError(
                f"Invalid value for 'dipole row': line {k} of {p.name!r} has "
                f"{len(fields)} columns; allowed: 6 (x y z in m, mx my mz in A m^2/A)."
            )
        try:
            rows.append([float(f) for f in fields])
        except ValueError:
            raise CcdFormatError(
                f"Invalid value for 'dipole row': line {k} of {p.name!r} is "
                f"{text[:60]!r}; allowed: 6 numbers."
            ) from None
    if len(rows) != count:
        raise CcdFormatError(
            f"Invalid value for 'count': got {count} on line 2 of {p.name!r}; the "
            f"file has {len(rows)} dipole rows."
        )
    data = np.asarray(rows, dtype=np.float64).reshape(-1, 6)
    max_didt: float | None = None
    if meta.get("dIdtmax", "none").lower() != "none":
        try:
            max_didt = float(meta["dIdtmax"])
        except ValueError:
            raise CcdFormatError(
                f"Invalid value for 'dIdtmax': got {meta['dIdtmax']!r}; allowed: a "
                "number (A/us)."
            ) from None

    def _text(key: str) -> str | None:
        value = meta.get(key)
        return None if value is None or value.lower() == "none" else value

    name = _text("coilname") or p.stem
    return Coil(
        name,
        data[:, :3],
        data[:, 3:],
        source=f"SimNIBS .ccd file {p.name!r}"
        + (f" ({description})" if description else ""),
        verified=False,
        max_didt_a_per_us=max_didt,
        stimulator=_text("stimulator"),
        brand=_text("brand"),
    )


def _check_meta(value: str | None, field: str) -> None:
    if value is None:
        return
    check_type(value, str, field)
    if _FORBIDDEN.search(value):
        raise ValueError(
            f"Invalid value for {field!r}: got {value!r}; allowed: text without ';', "
            "'=', '.' or line breaks (SimNIBS parses a value with '.' as a number)."
        )


def write_ccd(
    coil: Coil,
    path: str | os.PathLike[str],
    *,
    max_didt_a_per_us: float | None = None,
    stimulator: str | None = None,
    brand: str | None = None,
) -> Path:
    """Write a coil as a SimNIBS ``.ccd`` file.

    Parameters
    ----------
    coil : Coil
        The coil.
    path : str | path-like
        Output file (overwritten).
    max_didt_a_per_us : float | None
        ``dIdtmax`` for the header, A/us; defaults to the coil's own value.
    stimulator, brand : str | None
        Header fields; default to the coil's own.

    Returns
    -------
    path : Path
        The file written.

    Raises
    ------
    ValueError
        If a header value contains ``;``, ``=``, ``.`` or a line break (SimNIBS could
        not read it back), or ``max_didt_a_per_us`` is not positive.
    """
    check_type(coil, Coil, "coil")
    didt = coil.max_didt_a_per_us if max_didt_a_per_us is None else max_didt_a_per_us
    stim = coil.stimulator if stimulator is None else stimulator
    brand_ = coil.brand if brand is None else brand
    name = coil.name
    _check_meta(name, "coil.name")
    _check_meta(stim, "stimulator")
    _check_meta(brand_, "brand")
    header = f"# {name} version 1.1"
    if didt is not None:
        check_range(
            didt, "max_didt_a_per_us", 0.0, None, low_inclusive=False, unit="A/us"
        )
        header += f";dIdtmax={didt:.4f}"
    header += f";stimulator={stim or 'none'};brand={brand_ or 'none'};coilname={name}"
    data = np.column_stack([coil.positions_m, coil.moments])
    if not np.all(np.isfinite(data)):  # pragma: no cover - Coil validates this
        raise ValueError("Invalid value for 'coil': got non-finite dipoles.")
    body = "\n".join(" ".join(f"{v:.16e}" for v in row) for row in data)
    text = (
        f"{header}\n{coil.n_dipoles}\n"
        "# centers and weighted directions of the elements (magnetic dipoles)\n"
        f"{body}\n"
    )
    out = Path(path)
    out.write_text(text, encoding="utf-8")
    return out
