"""Daily morphine milligram equivalents with the CDC 2022 factors."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from plptms.scales import DoseUnit, Opioid, OpioidDose, daily_mme, mme_conversion_factor

from .conftest import ATOL, RTOL


@pytest.mark.parametrize(
    ("drug", "dose", "unit", "mme"),
    [
        ("morphine", 60, "mg/day", 60.0),  # 60 x 1
        ("codeine", 240, "mg/day", 36.0),  # 240 x 0.15
        ("hydrocodone", 20, "mg/day", 20.0),  # 4 x 5 mg x 1 (CDC worked example)
        ("hydromorphone", 8, "mg/day", 40.0),  # 8 x 5
        ("oxycodone", 20, "mg/day", 30.0),  # 2 x 10 mg x 1.5 (CDC worked example)
        ("oxymorphone", 10, "mg/day", 30.0),  # 10 x 3
        ("tramadol", 200, "mg/day", 40.0),  # 200 x 0.2
        ("tapentadol", 100, "mg/day", 40.0),  # 100 x 0.4
        ("methadone", 10, "mg/day", 47.0),  # 10 x 4.7
        ("fentanyl_transdermal", 25, "mcg/h", 60.0),  # 25 mcg/h x 2.4
    ],
)
def test_single_drug(drug: str, dose: float, unit: str, mme: float) -> None:
    assert daily_mme([(drug, dose, unit)]) == pytest.approx(mme, rel=RTOL)
    d = OpioidDose(drug=drug, dose=dose, unit=unit)
    assert d.mme_per_day == pytest.approx(mme, rel=RTOL)


def test_combination_and_empty() -> None:
    doses: list[OpioidDose | tuple[str, float, str]] = [
        OpioidDose(drug=Opioid.OXYCODONE, dose=20, unit=DoseUnit.MG_PER_DAY),
        ("fentanyl_transdermal", 25, "mcg/h"),
    ]
    assert daily_mme(doses) == pytest.approx(90.0, rel=RTOL)  # 30 + 60
    assert daily_mme([]) == pytest.approx(0.0, abs=ATOL)


def test_conversion_factor_lookup() -> None:
    assert mme_conversion_factor("Tramadol") == pytest.approx(0.2, rel=RTOL)
    assert mme_conversion_factor(Opioid.METHADONE) == pytest.approx(4.7, rel=RTOL)
    with pytest.raises(ValueError, match="'drug'"):
        mme_conversion_factor("buprenorphine")


def test_unknown_drug_names_field() -> None:
    with pytest.raises(ValueError, match="'drug'") as exc:
        daily_mme([("morfine", 30, "mg/day")])
    assert "Did you mean 'morphine'" in str(exc.value)


def test_unit_must_match_drug() -> None:
    with pytest.raises(ValidationError, match="'unit'"):
        OpioidDose(drug="fentanyl_transdermal", dose=25, unit="mg/day")
    with pytest.raises(ValidationError, match="'unit'"):
        OpioidDose(drug="morphine", dose=25, unit="mcg/h")
    with pytest.raises(ValidationError, match="'unit'"):
        OpioidDose(drug="morphine", dose=25, unit="mg")


@pytest.mark.parametrize("dose", [0, -5, float("nan"), float("inf"), True, "10"])
def test_bad_dose_names_field(dose: object) -> None:
    with pytest.raises(ValidationError, match="'dose'"):
        OpioidDose(drug="morphine", dose=dose, unit="mg/day")


def test_bad_entry_type() -> None:
    with pytest.raises(TypeError, match="'doses'"):
        daily_mme([("morphine", 30)])  # type: ignore[list-item]


def test_frozen() -> None:
    d = OpioidDose(drug=Opioid.MORPHINE, dose=30, unit=DoseUnit.MG_PER_DAY)
    with pytest.raises(ValidationError):
        d.dose = 40  # type: ignore[misc]


@pytest.mark.parametrize("dose", [1e300, 1001.0])
def test_absurd_tramadol_dose_refused(dose: float) -> None:
    # a tramadol dose of 1e300 mg/day was stored
    with pytest.raises(ValidationError, match=r"'dose'.*tramadol.*\(0, 1000\] mg/day"):
        OpioidDose(drug="tramadol", dose=dose, unit="mg/day")
    with pytest.raises(ValidationError, match=r"'dose'.*finite"):
        OpioidDose(drug="tramadol", dose=10**400, unit="mg/day")


def test_dose_plausibility_bounds() -> None:
    # tramadol, tapentadol and codeine: 1,000 mg/day (a plausibility limit)
    for drug in ("tramadol", "tapentadol", "codeine"):
        assert OpioidDose(drug=drug, dose=1000, unit="mg/day").dose == 1000
    # any other opioid: 10,000 MME/day, i.e. 10,000 / factor in its own unit;
    # the CDC 2022 factors: morphine 1, oxycodone 1.5, fentanyl patch 2.4
    for drug, unit, highest in (
        ("morphine", "mg/day", 10_000.0),
        ("oxycodone", "mg/day", 10_000.0 / 1.5),
        ("fentanyl_transdermal", "mcg/h", 10_000.0 / 2.4),
    ):
        assert OpioidDose(drug=drug, dose=highest, unit=unit).dose == highest
        with pytest.raises(ValidationError, match=f"'dose'.*{drug}"):
            OpioidDose(drug=drug, dose=highest * 1.01, unit=unit)
