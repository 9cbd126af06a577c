"""One clock: UTC timestamps, the clinic's date in its time zone (issue 15).

Run under two time zones, +14 h (Pacific/Kiritimati) and -11 h
(Pacific/Pago_Pago): at any UTC hour at least one of them is on another
calendar day than UTC, so a "today" taken in UTC in one place and locally in
another would show.
"""

from __future__ import annotations

import datetime as dt

import pytest

from plptms.utils import clinic_timezone, clinic_today

ZONES = ("Pacific/Kiritimati", "Pacific/Pago_Pago")


@pytest.mark.parametrize(
    ("zone", "moment", "expected"),
    [
        ("Pacific/Kiritimati", "2026-12-03T23:30:00+00:00", dt.date(2026, 12, 4)),
        ("America/Los_Angeles", "2026-12-03T23:30:00+00:00", dt.date(2026, 12, 3)),
        ("Pacific/Pago_Pago", "2026-12-03T05:00:00+00:00", dt.date(2026, 12, 2)),
        ("UTC", "2026-12-03T05:00:00+00:00", dt.date(2026, 12, 3)),
    ],
)
def test_the_clinic_date_is_the_date_in_its_zone(
    monkeypatch: pytest.MonkeyPatch, zone: str, moment: str, expected: dt.date
) -> None:
    monkeypatch.setenv("PLPTMS_TIMEZONE", zone)
    assert clinic_today(dt.datetime.fromisoformat(moment)) == expected


def test_a_bad_zone_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLPTMS_TIMEZONE", "Mars/Olympus")
    with pytest.raises(ValueError, match=r"PLPTMS_TIMEZONE.*Mars/Olympus"):
        clinic_timezone()


@pytest.mark.parametrize("zone", ZONES)
def test_records_dated_today_are_today_at_the_session(
    monkeypatch: pytest.MonkeyPatch, tmp_path, zone: str
) -> None:
    """An RMT and a screening stored without a date pass as 0 days old."""
    from plptms.motor import SimulatedSubject, SubjectParameters, hunt_ml_pest
    from plptms.protocol import Protocol
    from plptms.registry import Registry
    from plptms.safety import (
        PhysicianReview,
        ScreeningAnswers,
        load_screening_items,
        screen,
    )
    from plptms.workflow import assign_protocol, prepare_start

    monkeypatch.setenv("PLPTMS_TIMEZONE", zone)
    with Registry(f"sqlite:///{tmp_path / 'r.sqlite3'}") as reg:
        reg.add_patient("S1", "P001", history=None, actor="n")
        answers = dict.fromkeys([i.id for i in load_screening_items()], "no")
        # an undated report: stored with the clinic's date, read back dated
        reg.record_screening(
            "S1", "P001", screen(ScreeningAnswers(answers=answers)), actor="d"
        )
        stored = reg.latest_screening("S1", "P001")
        assert stored is not None
        assert stored.screened_on == clinic_today()
        hunt = hunt_ml_pest(
            SimulatedSubject(SubjectParameters(threshold_pct_mso=50.0), seed=1),
            start_intensity_pct_mso=60.0,
        )
        reg.record_rmt(
            "S1", "P001", hunt, hemisphere="left", muscle="FDI", stimulator="sim",
            actor="t",
        )  # fmt: skip
        proto = Protocol.model_validate(
            {
                "id": "one-train",
                "name": "clock test",
                "condition": "active",
                "blocks": [
                    {
                        "label": "M1",
                        "dose": {
                            "pattern": "rtms",
                            "target": "m1_hand",
                            "laterality": "contralateral",
                            "frequency_hz": 10,
                            "intensity_pct_rmt": 90,
                            "pulses_per_train": 5,
                            "trains_per_session": 1,
                            "inter_train_interval_s": 0,
                        },
                        "sessions": 1,
                        "sessions_per_week": 1,
                        "course_weeks": 1,
                    }
                ],
            }
        )
        review = PhysicianReview(physician="Dr C", reason="Unverified cell reviewed.")
        assign_protocol(reg, "S1", "P001", proto, actor="d", review=review)
        prepared = prepare_start(
            reg, "S1", "P001", "one-train", 1, device="sim", actor="t",
            ae_reviewed=True,
        )  # fmt: skip
        messages = {c.check: c.message for c in prepared.checks}
        assert messages["rmt"].startswith("RMT measured 0 day(s) ago")
        assert messages["screening"].startswith("screened 0 day(s) ago")
