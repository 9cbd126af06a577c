"""Talairach <-> MNI coordinates with the Lancaster et al. (2007) icbm2tal transform.

Talairach and MNI coordinates of the same brain site differ by up to more than 1 cm:
ICBM-152 fitted brains are larger, tilted nose down and shifted slightly down
relative to Talairach-fitted brains :footcite:`lancaster2007`. Lancaster et al.
fitted one affine MNI -> Talairach transform per fitting method (SPM2, FSL/FLIRT,
others) and reported that it cut the group mean disparity from 5-13 mm to 1-2 mm
(abstract read). The matrices were read in the GingerALE functions
``icbm_fsl2tal.m``, ``icbm_spm2tal.m`` and ``icbm_other2tal.m`` as redistributed in
ThomasYeoLab/CBIG (see :mod:`plptms.targeting._constants`); Talairach -> MNI is
their exact inverse, as in GingerALE's ``tal2icbm_*.m``.

plptms uses the FSL variant by default (a plptms choice): the MNI targets are meant
for SimNIBS-style neuronavigation and E-field work, whose template files are FSL's
MNI152 (``MNI152_T1_1mm``-based files in ``simnibs/resources/templates``, listing
read). The SPM2 and "other" variants are there for coordinates meant for those
spaces; for the targets here the variants differ by up to about 3 mm.

.. footbibliography::
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import TYPE_CHECKING

import numpy as np

from ..utils import check_option
from ._constants import (
    LANCASTER2007_ICBM_FSL2TAL,
    LANCASTER2007_ICBM_OTHER2TAL,
    LANCASTER2007_ICBM_SPM2TAL,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import NDArray

__all__ = [
    "DEFAULT_TALAIRACH_TRANSFORM",
    "TalairachTransform",
    "mni_to_talairach",
    "talairach_to_mni",
]

XYZ = tuple[float, float, float]


class TalairachTransform(StrEnum):
    """Variant of the Lancaster et al. (2007) icbm2tal transform.

    ``fsl`` for MNI coordinates of ICBM-152 brains fitted with FSL/FLIRT (FSL's
    MNI152 template), ``spm`` for SPM2-fitted ones, ``other`` for other templates.
    """

    FSL = "fsl"
    SPM = "spm"
    OTHER = "other"


#: The variant plptms uses for its MNI targets (see the module docstring).
DEFAULT_TALAIRACH_TRANSFORM = TalairachTransform.FSL

_MATRICES = {
    TalairachTransform.FSL: LANCASTER2007_ICBM_FSL2TAL,
    TalairachTransform.SPM: LANCASTER2007_ICBM_SPM2TAL,
    TalairachTransform.OTHER: LANCASTER2007_ICBM_OTHER2TAL,
}


def _affine(transform: TalairachTransform | str) -> NDArray[np.float64]:
    variant = TalairachTransform(
        check_option(str(transform), "transform", [t.value for t in TalairachTransform])
    )
    out: NDArray[np.float64] = np.array(_MATRICES[variant], dtype=float)
    return out


def _point(xyz: Sequence[float], field: str) -> NDArray[np.float64]:
    if isinstance(xyz, str | bytes):
        raise TypeError(
            f"Invalid type for '{field}': got {xyz!r}; allowed: three numbers "
            "(x, y, z) in mm."
        )
    try:
        values = [float(v) for v in xyz]
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"Invalid type for '{field}': got {xyz!r}; allowed: three numbers "
            "(x, y, z) in mm."
        ) from err
    if len(values) != 3 or not all(math.isfinite(v) for v in values):
        raise ValueError(
            f"Invalid value for '{field}': got {xyz!r}; allowed: three finite "
            "numbers (x, y, z) in mm."
        )
    return np.array(values)


def _tuple(v: NDArray[np.float64]) -> XYZ:
    return (float(v[0]), float(v[1]), float(v[2]))


def mni_to_talairach(
    xyz_mm: Sequence[float],
    transform: TalairachTransform | str = DEFAULT_TALAIRACH_TRANSFORM,
) -> XYZ:
    """Convert an MNI coordinate to Talairach (Lancaster et al., 2007, icbm2tal).

    Parameters
    ----------
    xyz_mm : sequence of float
        MNI x, y, z, mm.
    transform : TalairachTransform | str
        ``fsl`` (default), ``spm`` or ``other`` :footcite:`lancaster2007`.

    Returns
    -------
    xyz_mm : tuple of float
        Talairach x, y, z, mm.

    Raises
    ------
    TypeError
        If ``xyz_mm`` is not a sequence of numbers.
    ValueError
        If it does not hold three finite numbers or ``transform`` is unknown.

    References
    ----------
    .. footbibliography::
    """
    affine = _affine(transform)
    p = _point(xyz_mm, "xyz_mm")
    return _tuple(affine[:, :3] @ p + affine[:, 3])


def talairach_to_mni(
    xyz_mm: Sequence[float],
    transform: TalairachTransform | str = DEFAULT_TALAIRACH_TRANSFORM,
) -> XYZ:
    """Convert a Talairach coordinate to MNI (inverse of Lancaster et al., 2007).

    Solves ``tal = A @ mni + t`` for ``mni`` with the icbm2tal affine ``[A | t]``
    :footcite:`lancaster2007`, the exact inverse of :func:`mni_to_talairach`.

    Parameters
    ----------
    xyz_mm : sequence of float
        Talairach x, y, z, mm.
    transform : TalairachTransform | str
        ``fsl`` (default), ``spm`` or ``other``: the MNI space wanted.

    Returns
    -------
    xyz_mm : tuple of float
        MNI x, y, z, mm.

    Raises
    ------
    TypeError
        If ``xyz_mm`` is not a sequence of numbers.
    ValueError
        If it does not hold three finite numbers or ``transform`` is unknown.

    References
    ----------
    .. footbibliography::
    """
    affine = _affine(transform)
    p = _point(xyz_mm, "xyz_mm")
    mni = np.linalg.solve(affine[:, :3], p - affine[:, 3])
    return (float(mni[0]), float(mni[1]), float(mni[2]))
