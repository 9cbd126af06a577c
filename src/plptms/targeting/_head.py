"""Tape measurements of a patient's head."""

from __future__ import annotations

from typing import ClassVar, Self

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from ..utils import check_range
from ._constants import (
    ARC_TO_CIRCUMFERENCE_MAX_RATIO,
    ARC_TO_CIRCUMFERENCE_MIN_RATIO,
    CIRCUMFERENCE_MAX_CM,
    CIRCUMFERENCE_MIN_CM,
    NASION_INION_MAX_CM,
    NASION_INION_MIN_CM,
    NI_TT_MAX_RATIO,
    TRAGUS_TRAGUS_MAX_CM,
    TRAGUS_TRAGUS_MIN_CM,
)

__all__ = ["HeadMeasurements"]


class HeadMeasurements(BaseModel):
    """Three tape measurements of an adult head, in cm.

    Parameters
    ----------
    nasion_inion_cm : float
        Arc from the nasion over the vertex to the inion, cm (NI).
    tragus_tragus_cm : float
        Arc from the left to the right tragus (preauricular point) over the vertex,
        cm (TT).
    circumference_cm : float
        Head circumference through Fpz, T7, Oz and T8 (10 % above the nasion and
        inion), cm (CF).

    Notes
    -----
    Each value must lie in an adult plausibility range (``[design]`` bounds in
    :mod:`plptms.targeting._constants`), each over-the-vertex arc must be between
    0.55 and 0.75 times the circumference, and the two arcs may differ by a
    factor of at most 1.15. A value outside raises ``ValueError`` naming the
    field.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Allowed range of each measurement alone, cm (inclusive; the proportion
    #: checks come on top). For forms that state the ranges.
    RANGES_CM: ClassVar[dict[str, tuple[float, float]]] = {
        "nasion_inion_cm": (NASION_INION_MIN_CM, NASION_INION_MAX_CM),
        "tragus_tragus_cm": (TRAGUS_TRAGUS_MIN_CM, TRAGUS_TRAGUS_MAX_CM),
        "circumference_cm": (CIRCUMFERENCE_MIN_CM, CIRCUMFERENCE_MAX_CM),
    }

    nasion_inion_cm: float
    tragus_tragus_cm: float
    circumference_cm: float

    @field_validator("nasion_inion_cm")
    @classmethod
    def _check_ni(cls, v: float) -> float:
        return check_range(
            v, "nasion_inion_cm", NASION_INION_MIN_CM, NASION_INION_MAX_CM, unit="cm"
        )

    @field_validator("tragus_tragus_cm")
    @classmethod
    def _check_tt(cls, v: float) -> float:
        return check_range(
            v,
            "tragus_tragus_cm",
            TRAGUS_TRAGUS_MIN_CM,
            TRAGUS_TRAGUS_MAX_CM,
            unit="cm",
        )

    @field_validator("circumference_cm")
    @classmethod
    def _check_cf(cls, v: float) -> float:
        return check_range(
            v, "circumference_cm", CIRCUMFERENCE_MIN_CM, CIRCUMFERENCE_MAX_CM, unit="cm"
        )

    @model_validator(mode="after")
    def _check_proportions(self) -> Self:
        cf = self.circumference_cm
        low = round(ARC_TO_CIRCUMFERENCE_MIN_RATIO * cf, 2)
        high = round(ARC_TO_CIRCUMFERENCE_MAX_RATIO * cf, 2)
        for name in ("nasion_inion_cm", "tragus_tragus_cm"):
            value = getattr(self, name)
            if not low <= value <= high:
                raise ValueError(
                    f"Invalid value for {name!r}: got {value!r}; allowed range is "
                    f"[{low:g}, {high:g}] cm ({ARC_TO_CIRCUMFERENCE_MIN_RATIO:g}-"
                    f"{ARC_TO_CIRCUMFERENCE_MAX_RATIO:g} x circumference_cm "
                    f"{cf:g} cm; check the tape path and units)."
                )
        ni, tt = self.nasion_inion_cm, self.tragus_tragus_cm
        low_ni = round(tt / NI_TT_MAX_RATIO, 2)
        high_ni = round(tt * NI_TT_MAX_RATIO, 2)
        if not low_ni <= ni <= high_ni:
            raise ValueError(
                f"Invalid value for 'nasion_inion_cm': got {ni!r}; allowed range is "
                f"[{low_ni:g}, {high_ni:g}] cm (within a factor {NI_TT_MAX_RATIO:g} of "
                f"tragus_tragus_cm {tt:g} cm; check the tape path and units)."
            )
        return self

    def scaled(self, factor: float) -> HeadMeasurements:
        """Return the measurements multiplied by ``factor``.

        Parameters
        ----------
        factor : float
            Scale factor (dimensionless, > 0).

        Returns
        -------
        head : HeadMeasurements
            The scaled measurements (validated again).

        Raises
        ------
        ValueError
            If ``factor`` is not positive or the scaled head is out of range.
        """
        check_range(factor, "factor", 0.0, None, low_inclusive=False)
        return HeadMeasurements(
            nasion_inion_cm=self.nasion_inion_cm * factor,
            tragus_tragus_cm=self.tragus_tragus_cm * factor,
            circumference_cm=self.circumference_cm * factor,
        )
