"""Protocol models: validation names the field, derived values are computed."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from plptms.protocol import CourseBlock, Pattern, Protocol, StimulationDose

from ..conftest import CTBS_DEFAULTS, ITBS_DEFAULTS, RTMS_DEFAULTS, dose, protocol_of

RTOL = 1e-12


def test_derived_values_rtms() -> None:
    d = dose()  # 10 Hz, 50 pulses, 30 trains, 25 s pauses
    assert d.pulses_per_session == 1500
    assert d.train_duration_s == pytest.approx(5.0, rel=RTOL)
    # 30 trains x 5 s + 29 pauses x 25 s
    assert d.session_duration_s == pytest.approx(30 * 5 + 29 * 25, rel=RTOL)
    p = protocol_of(d)
    assert p.blocks[0].pulses_per_course == 15000
    assert p.pulses_per_course == 15000


def test_derived_values_theta_burst() -> None:
    i = dose(ITBS_DEFAULTS)
    assert i.bursts_per_train == 10
    assert i.train_duration_s == pytest.approx(2.0, rel=RTOL)
    assert i.pulses_per_session == 600
    # 20 x 2 s + 19 x 8 s = 192 s (Huang 2005: 190 s "every 10 s")
    assert i.session_duration_s == pytest.approx(192.0, rel=RTOL)
    c = dose(CTBS_DEFAULTS)
    assert c.train_duration_s == pytest.approx(40.0, rel=RTOL)


def test_derived_not_stored() -> None:
    fields = set(StimulationDose.model_fields)
    for derived in ("pulses_per_session", "train_duration_s", "session_duration_s"):
        assert derived not in fields
    assert "pulses_per_course" not in CourseBlock.model_fields


def test_unreported_literal_and_roundtrip() -> None:
    d = dose(
        pulses_per_train="unreported",
        trains_per_session="unreported",
        reported_pulses_per_session=1200,
    )
    assert d.pulses_per_train is None
    assert d.pulses_per_session == 1200
    assert d.train_duration_s is None
    data = d.model_dump(mode="json")
    assert data["pulses_per_train"] == "unreported"
    assert StimulationDose.model_validate(data) == d


def test_reported_total_refused_when_derived() -> None:
    with pytest.raises(ValidationError, match="reported_pulses_per_session"):
        dose(reported_pulses_per_session=1500)


def test_missing_field_is_an_error_not_a_default() -> None:
    data = dict(RTMS_DEFAULTS)
    del data["inter_train_interval_s"]
    with pytest.raises(ValidationError, match="inter_train_interval_s"):
        StimulationDose.model_validate(data)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("frequency_hz", 0.0),
        ("frequency_hz", -5.0),
        ("frequency_hz", 150.0),
        ("frequency_hz", float("nan")),
        ("intensity_pct_rmt", 0.0),
        ("intensity_pct_rmt", 300.0),
        ("pulses_per_train", 0),
        ("trains_per_session", -1),
        ("inter_train_interval_s", -1.0),
    ],
)
def test_out_of_range_names_field_and_value(field: str, value: float) -> None:
    with pytest.raises(ValidationError, match=field) as exc:
        dose(**{field: value})
    assert "allowed" in str(exc.value)


_DOSE_NUMBERS = (
    "frequency_hz",
    "intensity_pct_rmt",
    "pulses_per_train",
    "trains_per_session",
    "inter_train_interval_s",
)


@pytest.mark.parametrize("field", _DOSE_NUMBERS)
@pytest.mark.parametrize("value", [True, False], ids=["true", "false"])
def test_bool_is_not_a_dose_number(field: str, value: bool) -> None:
    # `intensity_pct_rmt: true` used to be read as 1 % RMT
    with pytest.raises(ValidationError, match=f"'{field}': got {value}") as exc:
        dose(**{field: value})
    assert "not a bool or text" in str(exc.value)


@pytest.mark.parametrize("field", _DOSE_NUMBERS)
def test_numeric_text_is_not_coerced(field: str) -> None:
    with pytest.raises(ValidationError, match=f"'{field}': got '20'"):
        dose(**{field: "20"})


@pytest.mark.parametrize("field", _DOSE_NUMBERS)
@pytest.mark.parametrize(
    "value",
    [float("inf"), float("-inf"), 1e300, 10**400],
    ids=["inf", "-inf", "1e300", "10**400"],
)
def test_non_finite_and_absurd_dose_numbers_refused(field: str, value: float) -> None:
    with pytest.raises(ValidationError, match=field):
        dose(**{field: value})


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("pulses_per_train", 10_001),
        ("trains_per_session", 10_001),
        ("reported_pulses_per_session", 20_001),
        ("pulses_per_train", 2.5),
    ],
)
def test_counts_bounded_and_whole(field: str, value: float) -> None:
    changes = {field: value}
    if field == "reported_pulses_per_session":
        changes["pulses_per_train"] = "unreported"
    with pytest.raises(ValidationError, match=field) as exc:
        dose(**changes)
    assert "allowed" in str(exc.value)


def test_counts_given_as_whole_floats_are_ints() -> None:
    d = dose(pulses_per_train=50.0, trains_per_session=30.0)
    assert d.pulses_per_train == 50
    assert isinstance(d.pulses_per_train, int)


def test_bool_phase_and_study_counts_refused() -> None:
    with pytest.raises(ValidationError, match="'phase'"):
        CourseBlock.model_validate(
            {
                "label": "M1",
                "dose": dose(),
                "sessions": 10,
                "sessions_per_week": 5,
                "course_weeks": 2,
                "phase": True,
            }
        )
    with pytest.raises(ValidationError, match="'sessions'"):
        CourseBlock.model_validate(
            {
                "label": "M1",
                "dose": dose(),
                "sessions": True,
                "sessions_per_week": 5,
                "course_weeks": 2,
            }
        )


def test_wrong_type_rejected() -> None:
    with pytest.raises(ValidationError, match="frequency_hz"):
        dose(frequency_hz="ten")
    with pytest.raises(ValidationError, match="pattern"):
        dose(pattern="deep")


def test_tbs_fields_only_for_tbs() -> None:
    with pytest.raises(ValidationError, match="pulses_per_burst"):
        dose(pulses_per_burst=3)


def test_tbs_whole_bursts_and_burst_fits() -> None:
    with pytest.raises(ValidationError, match="pulses_per_train"):
        dose(ITBS_DEFAULTS, pulses_per_train=31)
    # 3 pulses at 10 Hz span 0.2 s, the burst period at 5 Hz: impossible
    with pytest.raises(ValidationError, match="intra_burst_frequency_hz"):
        dose(ITBS_DEFAULTS, intra_burst_frequency_hz=10.0)


def test_single_pulse_rules() -> None:
    sp = dose(
        pattern="single_pulse",
        frequency_hz=0.2,
        pulses_per_train=1,
        trains_per_session=20,
        inter_train_interval_s=None,
    )
    assert sp.pattern is Pattern.SINGLE_PULSE
    assert sp.train_duration_s == 0.0
    assert sp.session_duration_s == pytest.approx(100.0, rel=RTOL)
    with pytest.raises(ValidationError, match="frequency_hz"):
        dose(pattern="single_pulse", frequency_hz=1.0, pulses_per_train=1)
    with pytest.raises(ValidationError, match="pulses_per_train"):
        dose(pattern="single_pulse", frequency_hz=0.2, pulses_per_train=5)


def test_schedule_consistency() -> None:
    with pytest.raises(ValidationError, match="sessions"):
        CourseBlock(
            label="M1", dose=dose(), sessions=20, sessions_per_week=5, course_weeks=2
        )
    ok = CourseBlock(
        label="M1", dose=dose(), sessions=28, sessions_per_week=None, course_weeks=6
    )
    assert ok.mean_sessions_per_week == pytest.approx(28 / 6, rel=RTOL)


def test_protocol_block_rules() -> None:
    d = dose()
    blk = {
        "label": "M1",
        "dose": d,
        "sessions": 5,
        "sessions_per_week": 5,
        "course_weeks": 1,
    }
    with pytest.raises(ValidationError, match="duplicate"):
        Protocol(id="x1", name="x", condition="active", blocks=(blk, blk))
    with pytest.raises(ValidationError, match="same_sessions_as"):
        Protocol(
            id="x1",
            name="x",
            condition="active",
            blocks=({**blk, "same_sessions_as": "S1"},),
        )
    with pytest.raises(ValidationError, match="'id'"):
        Protocol(id="Bad Id!", name="x", condition="active", blocks=(blk,))
    with pytest.raises(ValidationError, match="blocks"):
        Protocol(id="x1", name="x", condition="active", blocks=())
    with pytest.raises(ValidationError, match="extra"):
        Protocol(id="x1", name="x", condition="active", blocks=(blk,), colour="red")
    p = Protocol(id="x1", name="x", condition="active", blocks=(blk,))
    assert p.block("M1").sessions == 5
    with pytest.raises(KeyError, match="label"):
        p.block("S1")


def test_models_are_frozen() -> None:
    d = dose()
    with pytest.raises(ValidationError):
        d.frequency_hz = 20.0  # type: ignore[misc]
