"""Dose amendments only lower the dose (issue 15)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from plptms.protocol import (
    AmendmentRefusedError,
    ClosedLoopRule,
    DoseAmendment,
    Protocol,
    amend_protocol,
    apply_amendment,
)


def _protocol(blocks: int = 1, **dose: object) -> Protocol:
    base = {
        "pattern": "rtms",
        "target": "m1_hand",
        "laterality": "contralateral",
        "frequency_hz": 10,
        "intensity_pct_rmt": 90,
        "pulses_per_train": 50,
        "trains_per_session": 30,
        "inter_train_interval_s": 25,
    }
    base.update(dose)
    return Protocol.model_validate(
        {
            "id": "amend-test",
            "name": "amendment test",
            "condition": "active",
            "blocks": [
                {
                    "label": f"B{i}",
                    "dose": base,
                    "sessions": 10,
                    "sessions_per_week": 5,
                    "course_weeks": 2,
                }
                for i in range(blocks)
            ],
        }
    )


def test_lower_values_are_applied_and_the_rest_kept() -> None:
    dose = _protocol().blocks[0].dose
    out = apply_amendment(
        dose,
        DoseAmendment(intensity_pct_rmt=80, trains_per_session=10, reason="scalp pain"),
    )
    assert out.intensity_pct_rmt == 80
    assert out.trains_per_session == 10
    assert out.pulses_per_session == 500  # 10 trains of 50
    assert out.frequency_hz == dose.frequency_hz
    assert out.inter_train_interval_s == dose.inter_train_interval_s
    # equal to the assigned value is not an increase
    same = apply_amendment(
        dose, DoseAmendment(intensity_pct_rmt=90, trains_per_session=30, reason="same")
    )
    assert same == dose


@pytest.mark.parametrize(
    ("field", "amendment"),
    [
        ("intensity_pct_rmt", DoseAmendment(intensity_pct_rmt=90.5, reason="more")),
        ("trains_per_session", DoseAmendment(trains_per_session=31, reason="more")),
        (
            "min_interpulse_interval_s",
            # 10 Hz: a period of 0.1 s; 0.09 s would allow 11.1 Hz
            DoseAmendment(
                closed_loop=ClosedLoopRule(min_interpulse_interval_s=0.09),
                reason="faster",
            ),
        ),
    ],
)
def test_anything_that_raises_the_dose_is_refused(
    field: str, amendment: DoseAmendment
) -> None:
    with pytest.raises(AmendmentRefusedError, match=field):
        apply_amendment(_protocol().blocks[0].dose, amendment)


def test_an_unreported_assigned_value_cannot_be_lowered() -> None:
    dose = _protocol(trains_per_session="unreported").blocks[0].dose
    with pytest.raises(AmendmentRefusedError, match="unreported"):
        apply_amendment(dose, DoseAmendment(trains_per_session=5, reason="fewer"))


def test_block_must_be_named_when_there_are_several() -> None:
    two = _protocol(blocks=2)
    with pytest.raises(AmendmentRefusedError, match="'block'"):
        amend_protocol(two, DoseAmendment(intensity_pct_rmt=80, reason="scalp pain"))
    with pytest.raises(AmendmentRefusedError, match="B0, B1"):
        amend_protocol(
            two, DoseAmendment(block="B7", intensity_pct_rmt=80, reason="scalp pain")
        )
    out = amend_protocol(
        two, DoseAmendment(block="B1", intensity_pct_rmt=80, reason="scalp pain")
    )
    assert out.blocks[0].dose.intensity_pct_rmt == 90
    assert out.blocks[1].dose.intensity_pct_rmt == 80
    assert out.id == two.id


@pytest.mark.parametrize(
    "data",
    [
        {"reason": "  "},
        {"reason": "ok", "intensity_pct_rmt": 0},
        {"reason": "ok", "trains_per_session": 0},
        {"reason": "ok", "from_session": 0},
        {"reason": "ok", "closed_loop": {"min_interpulse_interval_s": 0.01}},
        {"reason": "ok", "closed_loop": {"target_phase_deg": 400}},
        {"reason": "ok", "intensity_pct_rmt": "80"},
        {"reason": "ok", "surprise": 1},
    ],
)
def test_bad_amendments_name_the_field(data: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        DoseAmendment.model_validate(data)
