"""Daily opioid dose in morphine milligram equivalents (MME).

Conversion factors are those of the CDC clinical practice guideline for prescribing
opioids for pain, 2022 :footcite:`dowell2022` (Table): MME/day = daily dose in
mg x factor, except transdermal fentanyl, whose patch rate in mcg/h is multiplied by
its factor. The guideline stresses that these are estimates for gauging total
opioid exposure, not for converting one opioid to another. Drugs outside the table
are refused rather than guessed.

.. footbibliography::
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final, Self

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from ..utils import check_option, check_range, check_strict_number
from ._constants import (
    MAX_DAILY_MME_PER_OPIOID,
    MAX_DOSE_CODEINE_MG_PER_DAY,
    MAX_DOSE_TAPENTADOL_MG_PER_DAY,
    MAX_DOSE_TRAMADOL_MG_PER_DAY,
    MME_FACTOR_CODEINE,
    MME_FACTOR_FENTANYL_TRANSDERMAL,
    MME_FACTOR_HYDROCODONE,
    MME_FACTOR_HYDROMORPHONE,
    MME_FACTOR_METHADONE,
    MME_FACTOR_MORPHINE,
    MME_FACTOR_OXYCODONE,
    MME_FACTOR_OXYMORPHONE,
    MME_FACTOR_TAPENTADOL,
    MME_FACTOR_TRAMADOL,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "DoseUnit",
    "Opioid",
    "OpioidDose",
    "daily_mme",
    "mme_conversion_factor",
]


class Opioid(StrEnum):
    """Opioids with a conversion factor in the CDC 2022 table."""

    CODEINE = "codeine"
    FENTANYL_TRANSDERMAL = "fentanyl_transdermal"
    HYDROCODONE = "hydrocodone"
    HYDROMORPHONE = "hydromorphone"
    METHADONE = "methadone"
    MORPHINE = "morphine"
    OXYCODONE = "oxycodone"
    OXYMORPHONE = "oxymorphone"
    TAPENTADOL = "tapentadol"
    TRAMADOL = "tramadol"


class DoseUnit(StrEnum):
    """Unit of an opioid dose."""

    #: Total daily dose in mg.
    MG_PER_DAY = "mg/day"
    #: Patch delivery rate in micrograms per hour (transdermal fentanyl).
    MCG_PER_H = "mcg/h"


_FACTORS: Final[dict[Opioid, float]] = {
    Opioid.CODEINE: MME_FACTOR_CODEINE,
    Opioid.FENTANYL_TRANSDERMAL: MME_FACTOR_FENTANYL_TRANSDERMAL,
    Opioid.HYDROCODONE: MME_FACTOR_HYDROCODONE,
    Opioid.HYDROMORPHONE: MME_FACTOR_HYDROMORPHONE,
    Opioid.METHADONE: MME_FACTOR_METHADONE,
    Opioid.MORPHINE: MME_FACTOR_MORPHINE,
    Opioid.OXYCODONE: MME_FACTOR_OXYCODONE,
    Opioid.OXYMORPHONE: MME_FACTOR_OXYMORPHONE,
    Opioid.TAPENTADOL: MME_FACTOR_TAPENTADOL,
    Opioid.TRAMADOL: MME_FACTOR_TRAMADOL,
}


#: Drugs whose plausibility bound is a daily dose of their own (in mg/day); every
#: other opioid is bounded by MAX_DAILY_MME_PER_OPIOID through its factor.
_DOSE_CEILINGS: Final[dict[Opioid, float]] = {
    Opioid.CODEINE: MAX_DOSE_CODEINE_MG_PER_DAY,
    Opioid.TAPENTADOL: MAX_DOSE_TAPENTADOL_MG_PER_DAY,
    Opioid.TRAMADOL: MAX_DOSE_TRAMADOL_MG_PER_DAY,
}


def max_plausible_dose(drug: Opioid) -> float:
    """Highest daily dose of ``drug`` a record may carry, in its dose unit.

    A plausibility bound (see ``scales/_constants.py``), not a clinical limit: the
    drug's own ceiling where it has one, else :data:`MAX_DAILY_MME_PER_OPIOID`
    divided by its conversion factor.
    """
    if drug in _DOSE_CEILINGS:
        return _DOSE_CEILINGS[drug]
    return MAX_DAILY_MME_PER_OPIOID / _FACTORS[drug]


def _unit_of(drug: Opioid) -> DoseUnit:
    if drug is Opioid.FENTANYL_TRANSDERMAL:
        return DoseUnit.MCG_PER_H
    return DoseUnit.MG_PER_DAY


def _parse_drug(value: Any) -> Opioid:
    text = value.strip().lower() if isinstance(value, str) else value
    return Opioid(check_option(text, "drug", [o.value for o in Opioid]))


def mme_conversion_factor(drug: Opioid | str) -> float:
    """Return the CDC 2022 conversion factor of one opioid.

    Parameters
    ----------
    drug : Opioid | str
        The opioid, e.g. ``"oxycodone"`` or ``"fentanyl_transdermal"``.

    Returns
    -------
    factor : float
        MME per mg (per mcg/h for transdermal fentanyl).

    Raises
    ------
    ValueError
        If the drug has no factor in the table; the message lists the drugs that
        have one.
    """
    return _FACTORS[_parse_drug(drug)]


class OpioidDose(BaseModel):
    """One opioid a patient takes, with its daily dose.

    Parameters
    ----------
    drug : Opioid
        The opioid (names are matched case-insensitively).
    dose : float
        Total daily dose in mg/day, or for transdermal fentanyl the patch rate in
        mcg/h: a finite number above 0 and at most a plausibility bound per drug
        (tramadol, tapentadol and codeine 1,000 mg/day; any other opioid
        10,000 MME/day through its factor).
    unit : DoseUnit
        ``"mg/day"``, or ``"mcg/h"`` for transdermal fentanyl.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    drug: Opioid
    dose: float
    unit: DoseUnit

    @field_validator("drug", mode="before")
    @classmethod
    def _check_drug(cls, v: Any) -> Opioid:
        return _parse_drug(v)

    @field_validator("unit", mode="before")
    @classmethod
    def _check_unit(cls, v: Any) -> DoseUnit:
        text = v.strip() if isinstance(v, str) else v
        return DoseUnit(check_option(text, "unit", [u.value for u in DoseUnit]))

    @field_validator("dose", mode="before")
    @classmethod
    def _check_dose(cls, v: Any) -> float:
        value = check_strict_number(v, "dose")
        return check_range(value, "dose", 0.0, None, low_inclusive=False)

    @model_validator(mode="after")
    def _check_unit_matches(self) -> Self:
        expected = _unit_of(self.drug)
        if self.unit is not expected:
            raise ValueError(
                f"Invalid value for 'unit': got {self.unit.value!r} for "
                f"{self.drug.value!r}; allowed: {expected.value!r}."
            )
        high = max_plausible_dose(self.drug)
        if self.dose > high:
            raise ValueError(
                f"Invalid value for 'dose': got {self.dose!r} {self.unit.value} of "
                f"{self.drug.value}; allowed range is (0, {high:g}] "
                f"{self.unit.value} (a plausibility bound: check the unit and the "
                "decimal point)."
            )
        return self

    @property
    def mme_per_day(self) -> float:
        """Daily dose in morphine milligram equivalents."""
        return self.dose * _FACTORS[self.drug]


def daily_mme(doses: Iterable[OpioidDose | tuple[str, float, str]]) -> float:
    """Return the total daily opioid dose in morphine milligram equivalents.

    Parameters
    ----------
    doses : iterable of OpioidDose | tuple of (str, float, str)
        Each opioid taken, as a model or as ``(drug, dose, unit)``, e.g.
        ``("oxycodone", 20, "mg/day")`` or ``("fentanyl_transdermal", 25, "mcg/h")``.

    Returns
    -------
    mme : float
        Total MME/day (0 for no opioids).

    Raises
    ------
    TypeError
        If an entry is neither an :class:`OpioidDose` nor a 3-tuple.
    ValueError
        If a drug has no CDC 2022 factor, a unit does not match its drug, or a dose
        is not a positive finite number; the message names the field.
    """
    total = 0.0
    for entry in doses:
        if isinstance(entry, OpioidDose):
            d = entry
        elif isinstance(entry, tuple) and len(entry) == 3:
            drug, dose, unit = entry
            d = OpioidDose(drug=drug, dose=dose, unit=unit)
        else:
            raise TypeError(
                f"Invalid type for 'doses': got {type(entry).__name__} ({entry!r}); "
                "allowed: OpioidDose or a (drug, dose, unit) tuple."
            )
        total += d.mme_per_day
    return total
