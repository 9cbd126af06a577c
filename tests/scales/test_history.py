"""PLP history: validation and derived values."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from plptms.protocol import Amputation, Limb, LimbSide
from plptms.scales import (
    AmputationLevel,
    AttackFrequency,
    PLPHistory,
    Trigger,
    levels_for,
)

from .conftest import ATOL, RTOL

BASE: dict[str, Any] = {
    "side": "left",
    "limb": "lower",
    "level": "transtibial",
    "cause": "trauma",
    "amputation_date": "2020-03-01",
    "assessed_on": "2024-03-01",
    "prosthesis_use": "daily",
    "phantom_sensations": True,
    "telescoping": True,
    "attack_frequency": {"count": 3, "per": "week"},
    "attack_duration_s": 90.0,
    "triggers": ["cold", "emotional_stress", "residual_limb_touch"],
    "trigger_notes": "worse at night",
    "analgesics": [{"name": "pregabalin", "drug_class": "anticonvulsant"}],
    "opioids": [{"drug": "tramadol", "dose": 100, "unit": "mg/day"}],
}


def history(**changes: Any) -> PLPHistory:
    return PLPHistory.model_validate({**BASE, **changes})


def test_valid_history_and_derived_values() -> None:
    h = history()
    assert h.side is LimbSide.LEFT
    assert h.level is AmputationLevel.TRANSTIBIAL
    # 2020-03-01 -> 2024-03-01: 365 + 365 + 365 + 366 (29 Feb 2024) = 1461 days
    assert h.time_since_amputation_days == 1461
    assert h.time_since_amputation_years == pytest.approx(4.0, rel=RTOL)  # /365.25
    assert h.time_since_amputation(dt.date(2020, 3, 31)) == dt.timedelta(days=30)
    assert h.daily_mme == pytest.approx(20.0, rel=RTOL)  # tramadol 100 x 0.2
    assert h.attack_frequency is not None
    assert h.attack_frequency.per_day == pytest.approx(3 / 7, rel=RTOL)
    assert h.amputation == Amputation(side="left", limb="lower", level="transtibial")


def test_derived_values_not_stored() -> None:
    fields = set(PLPHistory.model_fields)
    for derived in ("time_since_amputation_days", "time_since_amputation_years"):
        assert derived not in fields
    assert "daily_mme" not in fields
    assert "time_since_amputation" not in history().model_dump()


@pytest.mark.parametrize(
    ("limb", "level"),
    [("upper", "transtibial"), ("lower", "transradial"), ("lower", "forequarter")],
)
def test_level_must_match_limb(limb: str, level: str) -> None:
    with pytest.raises(ValidationError, match="'level'") as exc:
        history(limb=limb, level=level)
    assert f"got {level!r} for limb {limb!r}" in str(exc.value)


def test_every_level_belongs_to_one_limb() -> None:
    upper, lower = levels_for("upper"), levels_for(Limb.LOWER)
    assert set(upper).isdisjoint(lower)
    assert set(upper) | set(lower) == set(AmputationLevel)
    assert AmputationLevel.TRANSHUMERAL in upper
    assert AmputationLevel.HEMIPELVECTOMY in lower
    for level in AmputationLevel:
        history(limb=level.limb.value, level=level.value)  # accepted
    with pytest.raises(ValueError, match="'limb'"):
        levels_for("arm")


def test_dates_not_in_future() -> None:
    today = dt.date.today()
    tomorrow = today + dt.timedelta(days=1)
    with pytest.raises(ValidationError, match="'amputation_date'"):
        history(amputation_date=tomorrow.isoformat(), assessed_on=today.isoformat())
    with pytest.raises(ValidationError, match="'amputation_date'"):
        history(amputation_date="2024-03-02")  # after assessed_on
    with pytest.raises(ValidationError, match="'assessed_on'"):
        history(assessed_on=tomorrow.isoformat())
    same_day = history(amputation_date="2024-03-01")
    assert same_day.time_since_amputation_days == 0


def test_reference_before_amputation_refused() -> None:
    with pytest.raises(ValueError, match="'reference'"):
        history().time_since_amputation(dt.date(2019, 1, 1))


def test_unknown_amputation_date() -> None:
    h = history(amputation_date=None, cause="congenital")
    assert h.time_since_amputation() is None
    assert h.time_since_amputation_days is None
    assert h.time_since_amputation_years is None


def test_telescoping_needs_phantom_sensations() -> None:
    with pytest.raises(ValidationError, match="'telescoping'"):
        history(phantom_sensations=False, telescoping=True)
    assert not history(phantom_sensations=False, telescoping=False).telescoping


def test_triggers() -> None:
    h = history(triggers=["urination", "other"], trigger_notes="yawning spells")
    assert h.triggers == (Trigger.URINATION, Trigger.OTHER)
    with pytest.raises(ValidationError, match="'triggers'"):
        history(triggers=["cold", "cold"])
    with pytest.raises(ValidationError):
        history(triggers=["full moon"])


@pytest.mark.parametrize("duration", [0.0, -1.0, 86400.5, float("nan")])
def test_attack_duration_refused(duration: float) -> None:
    with pytest.raises(ValidationError, match="'attack_duration_s'"):
        history(attack_duration_s=duration)


def test_attack_duration_edges() -> None:
    assert history(attack_duration_s=1.0).attack_duration_s == pytest.approx(1.0)
    assert history(attack_duration_s=86400.0).attack_duration_s == pytest.approx(
        86400.0, rel=RTOL
    )


def test_attack_frequency() -> None:
    month = AttackFrequency(count=2, per="month")
    assert month.per_day == pytest.approx(2 / (365.25 / 12), rel=RTOL)
    day = AttackFrequency(count=4, per="day")
    assert day.per_week == pytest.approx(28.0, rel=RTOL)
    none = AttackFrequency(count=0, per="week")
    assert none.per_day == pytest.approx(0.0, abs=ATOL)
    with pytest.raises(ValidationError, match="'count'"):
        AttackFrequency(count=-1, per="day")
    with pytest.raises(ValidationError, match="'count'"):
        AttackFrequency(count=1441, per="day")
    with pytest.raises(ValidationError):
        AttackFrequency(count=1, per="year")


def test_opioid_errors_name_field() -> None:
    with pytest.raises(ValidationError, match="'drug'"):
        history(opioids=[{"drug": "kratom", "dose": 10, "unit": "mg/day"}])


def test_frozen_and_extra_forbidden() -> None:
    h = history()
    with pytest.raises(ValidationError):
        h.level = AmputationLevel.TRANSFEMORAL
    with pytest.raises(ValidationError):
        history(time_since_amputation_days=10)


@given(
    st.dates(dt.date(1950, 1, 1), dt.date(2023, 12, 31)),
    st.integers(0, 20000),
)
def test_time_since_amputation_property(amputated: dt.date, days: int) -> None:
    assessed = min(amputated + dt.timedelta(days=days), dt.date.today())
    h = history(amputation_date=amputated, assessed_on=assessed)
    assert h.time_since_amputation_days == (assessed - amputated).days
    years = h.time_since_amputation_years
    assert years is not None
    assert years == pytest.approx((assessed - amputated).days / 365.25, rel=RTOL)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("phantom_sensations", "yes"),
        ("phantom_sensations", 1),
        ("telescoping", "false"),
        ("attack_duration_s", True),
        ("attack_duration_s", "90"),
        ("attack_duration_s", float("nan")),
        ("attack_frequency", {"count": True, "per": "week"}),
        ("attack_frequency", {"count": "3", "per": "week"}),
        ("attack_frequency", {"count": 1e300, "per": "week"}),
        ("amputation_date", 0),
        ("assessed_on", 1_700_000_000),
        ("opioids", [{"drug": "tramadol", "dose": True, "unit": "mg/day"}]),
        ("opioids", [{"drug": "tramadol", "dose": "100", "unit": "mg/day"}]),
    ],
)
def test_clinical_fields_strict(field: str, value: object) -> None:
    with pytest.raises(ValidationError, match=field):
        history(**{field: value})


def test_tramadol_1e300_refused() -> None:
    # a tramadol dose of 1e300 mg/day was stored
    with pytest.raises(ValidationError, match=r"(?s)opioids\.0.*'dose'.*tramadol"):
        history(opioids=[{"drug": "tramadol", "dose": 1e300, "unit": "mg/day"}])


def test_future_amputation_date_refused_by_name() -> None:
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    with pytest.raises(ValidationError, match=r"'amputation_date'.*not in the future"):
        history(amputation_date=tomorrow.isoformat(), assessed_on=tomorrow.isoformat())


def test_amputation_at_most_a_lifetime_before_assessment() -> None:
    assert history(amputation_date="1910-03-01", assessed_on="2024-03-01")
    with pytest.raises(ValidationError, match=r"'amputation_date'.*120 years"):
        history(amputation_date="1900-01-01", assessed_on="2024-03-01")
